//! The SDK floor: the requests a function made (captured by the recording proxy),
//! made again with `aws-sdk-dynamodb` straight to DynamoDB, with the same round-trip
//! structure. For each captured request the matching SDK operation is called with
//! placeholder input, and an interceptor puts the captured body in place of the
//! placeholder one before signing: the SDK then signs, sends, retries and deserializes
//! exactly the request the function sent. Only the serialization of the input (a few
//! microseconds of JSON) is not paid.

use anyhow::{anyhow, bail, Result};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::SdkError;
use aws_smithy_runtime_api::box_error::BoxError;
use bytes::Bytes;

use crate::proxy::Recorded;

tokio::task_local! {
    /// The captured body of the request being sent (per future, so the requests of
    /// one round trip, sent concurrently, each get their own).
    static BODY: Bytes;
}

/// Puts the task-local [`BODY`] in place of the serialized input, before signing.
#[derive(Debug)]
struct CapturedBody;

impl Intercept for CapturedBody {
    fn name(&self) -> &'static str {
        "CapturedBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = BODY.try_with(Bytes::clone)?;
        let request = context.request_mut();
        request
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *request.body_mut() = body.into();
        Ok(())
    }
}

/// A DynamoDB client with the default settings of the environment (the endpoint of
/// `AWS_ENDPOINT_URL_DYNAMODB`, as the functions have it) and the body interceptor.
pub async fn client() -> aws_sdk_dynamodb::Client {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(CapturedBody)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// `Ok` for a response or a DynamoDB error answer (a refused condition is a
/// round trip like any other); `Err` when nothing came back.
fn answered<E, R>(result: Result<impl Sized, SdkError<E, R>>) -> Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) | Err(SdkError::ServiceError(_)) => Ok(()),
        Err(e) => Err(anyhow!(
            "{}",
            aws_sdk_dynamodb::error::DisplayErrorContext(e)
        )),
    }
}

/// Sends one captured request (`operation` as in `X-Amz-Target`, e.g. `GetItem`) with
/// the SDK operation of that name.
pub async fn send(client: &aws_sdk_dynamodb::Client, operation: &str, body: Bytes) -> Result<()> {
    const T: &str = "placeholder";
    let call = async {
        match operation {
            "GetItem" => answered(client.get_item().table_name(T).send().await),
            "Query" => answered(client.query().table_name(T).send().await),
            "Scan" => answered(client.scan().table_name(T).send().await),
            "PutItem" => answered(client.put_item().table_name(T).send().await),
            "UpdateItem" => answered(client.update_item().table_name(T).send().await),
            "DeleteItem" => answered(client.delete_item().table_name(T).send().await),
            "BatchGetItem" => answered(client.batch_get_item().send().await),
            "BatchWriteItem" => answered(client.batch_write_item().send().await),
            "TransactGetItems" => answered(client.transact_get_items().send().await),
            "TransactWriteItems" => answered(client.transact_write_items().send().await),
            other => bail!("no SDK operation mapped for {other}"),
        }
    };
    BODY.scope(body, call).await
}

/// Makes `requests` again with the SDK, one round trip after the other and the
/// requests of a round trip concurrently (the levels of [`crate::levels`]).
pub async fn replay(client: &aws_sdk_dynamodb::Client, requests: &[Recorded]) -> Result<()> {
    crate::proxy::by_levels(requests, |r| send(client, r.operation(), r.body.clone())).await
}

/// Milliseconds of each of `n` replays of `requests` (after 3 unmeasured ones).
pub async fn time_replays(
    client: &aws_sdk_dynamodb::Client,
    requests: &[Recorded],
    n: usize,
) -> Result<Vec<f64>> {
    crate::proxy::time_runs(n, || replay(client, requests)).await
}

/// The times of a floor's replays, and the CPU its thread used per replay.
pub struct Timed {
    pub ms: Vec<f64>,
    /// CPU milliseconds per replay (the 3 unmeasured ones included).
    pub cpu_ms: Option<f64>,
}

/// Which floor a [`Floors`] job measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// The captured HTTP requests replayed by a keep-alive client.
    Raw,
    /// The same requests made with the SDK.
    Sdk,
}

struct Job {
    floor: Floor,
    requests: Vec<Recorded>,
    n: usize,
    reply: tokio::sync::oneshot::Sender<Result<Timed>>,
}

/// Both floors, measured on a thread of their own running a single-threaded tokio
/// runtime (as the functions do), so that the floors pay no wake-ups across worker
/// threads either: they stay the fastest way to make those requests.
pub struct Floors {
    tx: tokio::sync::mpsc::UnboundedSender<Job>,
}

impl Floors {
    /// `config`: the SDK client's configuration (the interceptor is added); `None`
    /// for the default one of the environment, as [`client`].
    pub fn start(endpoint: String, config: Option<aws_sdk_dynamodb::Config>) -> Result<Self> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("floors".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let sdk = match config {
                        Some(c) => aws_sdk_dynamodb::Client::from_conf(
                            c.to_builder().interceptor(CapturedBody).build(),
                        ),
                        None => client().await,
                    };
                    let raw = crate::proxy::client();
                    while let Some(job) = rx.recv().await {
                        let cpu = crate::thread_cpu_seconds();
                        let out = match job.floor {
                            Floor::Sdk => time_replays(&sdk, &job.requests, job.n).await,
                            Floor::Raw => time_raw(&raw, &endpoint, &job.requests, job.n).await,
                        };
                        let cpu_ms = cpu
                            .zip(crate::thread_cpu_seconds())
                            .map(|(a, b)| 1000.0 * (b - a) / (job.n + 3) as f64);
                        let _ = job.reply.send(out.map(|ms| Timed { ms, cpu_ms }));
                    }
                })
            })?;
        Ok(Self { tx })
    }

    /// Milliseconds of each of `n` replays of `requests` (after 3 unmeasured ones).
    pub async fn time(&self, floor: Floor, requests: &[Recorded], n: usize) -> Result<Timed> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Job {
                floor,
                requests: requests.to_vec(),
                n,
                reply,
            })
            .map_err(|_| anyhow!("the floor thread has stopped"))?;
        rx.await
            .map_err(|_| anyhow!("the floor thread dropped a job"))?
    }
}

async fn time_raw(
    client: &crate::proxy::HttpClient,
    endpoint: &str,
    requests: &[Recorded],
    n: usize,
) -> Result<Vec<f64>> {
    crate::proxy::time_runs(n, || crate::proxy::replay(client, endpoint, requests)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<(String, bool, Bytes)>>>;

    /// A stand-in DynamoDB on 127.0.0.1 that records (target, signed?, body) and
    /// answers `{}` (or a TransactionCanceledException for `TransactWriteItems`).
    async fn fake_dynamodb() -> (String, Seen) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let log = log.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let log = log.clone();
                            async move {
                                let target = req
                                    .headers()
                                    .get("x-amz-target")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_owned();
                                let signed = req
                                    .headers()
                                    .get("authorization")
                                    .and_then(|v| v.to_str().ok())
                                    .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256"));
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                let cancel = target.ends_with("TransactWriteItems");
                                log.lock().unwrap().push((target, signed, body));
                                let mut res = hyper::Response::new(Full::new(Bytes::from_static(
                                    if cancel {
                                        br#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"x","CancellationReasons":[{"Code":"ConditionalCheckFailed"}]}"#
                                    } else {
                                        b"{}"
                                    },
                                )));
                                res.headers_mut().insert(
                                    "content-type",
                                    "application/x-amz-json-1.0".parse().unwrap(),
                                );
                                if cancel {
                                    *res.status_mut() = hyper::StatusCode::BAD_REQUEST;
                                }
                                Ok::<_, std::convert::Infallible>(res)
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (url, seen)
    }

    fn recorded(target: &str, body: &str, start_ms: f64, end_ms: f64) -> Recorded {
        Recorded {
            target: format!("DynamoDB_20120810.{target}"),
            headers: Vec::new(),
            body: Bytes::from(body.to_owned()),
            start_ms,
            end_ms,
            status: 200,
            error: None,
        }
    }

    #[tokio::test]
    async fn the_sdk_sends_the_captured_bodies_signed_with_the_same_structure() {
        let (url, seen) = fake_dynamodb().await;
        let config = shared::store::local_config(&url, "bench")
            .interceptor(CapturedBody)
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        let get = r#"{"TableName":"t","Key":{"PK":{"S":"USER#1"},"SK":{"S":"ACCOUNT"}},"ConsistentRead":true}"#;
        let query = r#"{"TableName":"t","KeyConditionExpression":"PK = :p","ExpressionAttributeValues":{":p":{"S":"USER#1"}}}"#;
        let write = r#"{"TransactItems":[]}"#;
        // Two concurrent requests, then a cancelled transaction (still a round trip).
        let requests = [
            recorded("GetItem", get, 0.0, 1.0),
            recorded("Query", query, 0.1, 1.1),
            recorded("TransactWriteItems", write, 2.0, 3.0),
        ];
        replay(&client, &requests).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        let mut first_two: Vec<(String, Bytes)> = seen[..2]
            .iter()
            .map(|(t, _, b)| (t.clone(), b.clone()))
            .collect();
        first_two.sort();
        assert_eq!(
            first_two,
            vec![
                ("DynamoDB_20120810.GetItem".to_owned(), Bytes::from(get)),
                ("DynamoDB_20120810.Query".to_owned(), Bytes::from(query)),
            ]
        );
        assert_eq!(seen[2].0, "DynamoDB_20120810.TransactWriteItems");
        assert_eq!(seen[2].2, Bytes::from(write));
        assert!(seen.iter().all(|(_, signed, _)| *signed));
        assert!(send(&client, "ListTables", Bytes::new()).await.is_err());
        let times = time_replays(&client, &requests[..1], 2).await.unwrap();
        assert_eq!(times.len(), 2);
    }

    #[tokio::test]
    async fn the_floor_thread_times_both_floors() {
        let (url, seen) = fake_dynamodb().await;
        let config = shared::store::local_config(&url, "bench").build();
        let floors = Floors::start(url, Some(config)).unwrap();
        let get = r#"{"TableName":"t","Key":{"PK":{"S":"USER#1"},"SK":{"S":"ACCOUNT"}}}"#;
        let mut request = recorded("GetItem", get, 0.0, 1.0);
        request.headers = vec![(
            "x-amz-target".to_owned(),
            b"DynamoDB_20120810.GetItem".to_vec(),
        )];
        let sdk = floors
            .time(Floor::Sdk, &[request.clone()], 4)
            .await
            .unwrap();
        let raw = floors.time(Floor::Raw, &[request], 5).await.unwrap();
        assert_eq!((sdk.ms.len(), raw.ms.len()), (4, 5));
        assert!(sdk.cpu_ms.is_some_and(|c| c >= 0.0));
        let seen = seen.lock().unwrap().clone();
        // 3 unmeasured replays before each series.
        assert_eq!(seen.len(), 7 + 8);
        assert!(seen
            .iter()
            .all(|(t, _, b)| t == "DynamoDB_20120810.GetItem" && b.as_ref() == get.as_bytes()));
        // The SDK's are signed, the raw replays carry the captured headers only.
        assert_eq!(seen.iter().filter(|(_, signed, _)| *signed).count(), 7);
    }
}
