//! Creating the table and its index (`walletctl table create`, tests).

use super::keys::{GSI1, GSI1_PK, GSI1_SK, PK, SK};
use super::StoreError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

/// Creates the table with its index; succeeds if it already exists. Returns
/// whether it was created now.
pub async fn create_table(db: &aws_sdk_dynamodb::Client, table: &str) -> Result<bool, StoreError> {
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
    };
    let result = db
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK)?)
        .attribute_definitions(attr(SK)?)
        .attribute_definitions(attr(GSI1_PK)?)
        .attribute_definitions(attr(GSI1_SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(GSI1)
                .key_schema(key(GSI1_PK, KeyType::Hash)?)
                .key_schema(key(GSI1_SK, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()?,
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) => {
            let exists = err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception());
            if exists {
                Ok(false)
            } else {
                Err(err.into())
            }
        }
    }
}
