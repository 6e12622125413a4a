//! Query results: the iterators that pull the peer's batches
//! ([`StateIterator`] for range and rich queries, [`HistoryIterator`] for a
//! key's history) and the [`Page`] of a paginated query.

use crate::context::TxContext;
use crate::stub::StubError;
use ccaas_proto::queryresult::{KeyModification, Kv};
use ccaas_proto::{
    Message, MessageType, QueryResponse, QueryResponseMetadata, QueryStateClose, QueryStateNext,
};
use std::marker::PhantomData;
use std::sync::Arc;

/// A record a query yields: a marshalled message in `QueryResultBytes`.
pub trait QueryRecord: Message + Default + Sized {
    /// Its protobuf name, for messages.
    const NAME: &'static str;
}

impl QueryRecord for Kv {
    const NAME: &'static str = "queryresult.KV";
}

impl QueryRecord for KeyModification {
    const NAME: &'static str = "queryresult.KeyModification";
}

/// The records of a query, pulled from the peer batch by batch (the peer
/// sends 100 at a time). Dropping it before the end closes it at the peer
/// before the transaction's next request.
pub struct QueryIterator<T: QueryRecord> {
    context: Arc<TxContext>,
    id: String,
    batch: std::vec::IntoIter<T>,
    has_more: bool,
    record: PhantomData<T>,
}

/// The records of a range, partial composite key or rich query.
pub type StateIterator = QueryIterator<Kv>;

/// The history of a key: every committed write, with its transaction.
pub type HistoryIterator = QueryIterator<KeyModification>;

/// One page of a paginated query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page's records.
    pub records: Vec<Kv>,
    /// How many records the peer fetched for it.
    pub fetched_records_count: i32,
    /// Where the next page starts (pass it back for the next page; empty or
    /// the same when there is none).
    pub bookmark: String,
}

pub(crate) fn decode_batch<T: QueryRecord>(
    request: &'static str,
    bytes: &[u8],
) -> Result<(QueryResponse, Vec<T>), StubError> {
    let response = QueryResponse::decode(bytes).map_err(|source| StubError::Malformed {
        request,
        message: "QueryResponse",
        source,
    })?;
    let records = response
        .results
        .iter()
        .map(|r| {
            T::decode(r.result_bytes.as_slice()).map_err(|source| StubError::Malformed {
                request,
                message: T::NAME,
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((response, records))
}

impl<T: QueryRecord> QueryIterator<T> {
    pub(crate) fn start(
        context: Arc<TxContext>,
        request: &'static str,
        answer: &[u8],
    ) -> Result<Self, StubError> {
        Ok(Self::from_response(context, decode_batch(request, answer)?))
    }

    fn from_response(
        context: Arc<TxContext>,
        (response, records): (QueryResponse, Vec<T>),
    ) -> Self {
        QueryIterator {
            context,
            id: response.id,
            batch: records.into_iter(),
            has_more: response.has_more,
            record: PhantomData,
        }
    }

    /// The next record, fetching the next batch when this one is used up;
    /// `None` at the end.
    pub async fn next(&mut self) -> Option<Result<T, StubError>> {
        loop {
            if let Some(record) = self.batch.next() {
                return Some(Ok(record));
            }
            if !self.has_more {
                return None;
            }
            let payload = QueryStateNext {
                id: self.id.clone(),
            }
            .encode_to_vec();
            let fetched = self
                .context
                .call(MessageType::QueryStateNext, payload)
                .await
                .and_then(|bytes| decode_batch::<T>("QUERY_STATE_NEXT", &bytes));
            match fetched {
                Ok((response, records)) => {
                    self.has_more = response.has_more;
                    self.batch = records.into_iter();
                }
                Err(e) => {
                    self.has_more = false;
                    return Some(Err(e));
                }
            }
        }
    }

    /// Reads every remaining record.
    pub async fn collect_all(mut self) -> Result<Vec<T>, StubError> {
        let mut all = Vec::new();
        while let Some(record) = self.next().await {
            all.push(record?);
        }
        Ok(all)
    }

    /// Closes the iterator at the peer now (dropping it closes it before
    /// the transaction's next request).
    pub async fn close(mut self) -> Result<(), StubError> {
        if !self.has_more {
            return Ok(());
        }
        self.has_more = false;
        let payload = QueryStateClose {
            id: self.id.clone(),
        }
        .encode_to_vec();
        self.context
            .call(MessageType::QueryStateClose, payload)
            .await
            .map(drop)
    }
}

impl<T: QueryRecord> Drop for QueryIterator<T> {
    fn drop(&mut self) {
        if self.has_more {
            self.context
                .to_close
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(std::mem::take(&mut self.id));
        }
    }
}

/// A paginated query's one answer, read whole.
pub(crate) async fn page(
    context: Arc<TxContext>,
    request: &'static str,
    answer: &[u8],
) -> Result<Page, StubError> {
    let (response, records) = decode_batch::<Kv>(request, answer)?;
    let metadata =
        QueryResponseMetadata::decode(response.metadata.as_slice()).map_err(|source| {
            StubError::Malformed {
                request,
                message: "QueryResponseMetadata",
                source,
            }
        })?;
    let records = QueryIterator::from_response(context, (response, records))
        .collect_all()
        .await?;
    Ok(Page {
        records,
        fetched_records_count: metadata.fetched_records_count,
        bookmark: metadata.bookmark,
    })
}
