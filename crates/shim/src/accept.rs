//! From accept to HTTP/2: the listening socket (its backlog), the bound on
//! connections held, and the client's first HTTP/2 bytes (preface and
//! SETTINGS), read under the deadline before tonic gets the connection and
//! replayed to it.

use crate::limits::LogBudget;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::warn;

/// The listen backlog asked for: Go's (it reads `net.core.somaxconn`,
/// 4096 on current kernels, which also caps what is asked). A burst of
/// connects then waits in the kernel instead of for a retried SYN.
pub const LISTEN_BACKLOG: u32 = 4096;

/// The HTTP/2 client connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The largest first SETTINGS frame taken (a client sends a few settings
/// of 6 bytes each; this is the smallest frame size HTTP/2 allows).
const MAX_FIRST_SETTINGS: usize = 16_384;

/// Binds `address` with [`LISTEN_BACKLOG`] (tokio's `TcpListener::bind`
/// asks for 1024, the standard library's for 128).
pub(crate) fn listen(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does on Unix: a restarted server rebinds at
    // once, past connections in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The bound on connections held: one permit per connection, from accept
/// until it closes.
pub(crate) struct Slots {
    permits: Arc<Semaphore>,
    max: usize,
    refusals: LogBudget,
}

impl Slots {
    pub(crate) fn new(max: usize) -> Self {
        let max = max.max(1);
        Slots {
            permits: Arc::new(Semaphore::new(max)),
            max,
            refusals: LogBudget::new(1, Duration::from_secs(10)),
        }
    }

    /// A slot for the connection from `remote`, or `None` (and a WARN
    /// line, at most one per 10 s) when every slot is taken.
    pub(crate) fn take(&self, remote: SocketAddr) -> Option<OwnedSemaphorePermit> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                if let Some(left_out) = self.refusals.take() {
                    warn!(
                        peer = %remote,
                        limit = self.max,
                        refused_before = left_out,
                        "closing new connections: {} connections are open, the limit \
                         (ServerConfig::max_connections, CHAINCODE_MAX_CONNECTIONS). A peer holds one per \
                         chaincode: this many is a flood or a leak. This line is written at most every 10 s",
                        self.max
                    );
                }
                None
            }
        }
    }
}

/// Why a connection was closed before HTTP/2 started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PrefaceError {
    /// The client closed, or the socket failed.
    #[error("the connection closed before the HTTP/2 preface: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not an HTTP/2 client preface.
    #[error("the client did not send the HTTP/2 preface (not an HTTP/2 client, or plain text on a TLS port)")]
    NotHttp2,
    /// The frame after the preface is not a SETTINGS frame of a sane size.
    #[error("the client's first frame is not a SETTINGS frame (type {kind}, {length} bytes)")]
    NotSettings {
        /// The frame type.
        kind: u8,
        /// Its length.
        length: usize,
    },
}

/// Reads the client preface and its first frame, which must be SETTINGS,
/// and returns every byte read (tonic reads them again from [`Conn`]).
pub(crate) async fn first_frames<R: AsyncRead + Unpin>(
    io: &mut R,
) -> Result<Vec<u8>, PrefaceError> {
    let mut read = Vec::with_capacity(PREFACE.len() + 9 + 64);
    let mut chunk = [0u8; 512];
    loop {
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        read.extend_from_slice(&chunk[..n]);
        let preface = read.len().min(PREFACE.len());
        if read[..preface] != PREFACE[..preface] {
            return Err(PrefaceError::NotHttp2);
        }
        let Some(head) = read.get(PREFACE.len()..PREFACE.len() + 9) else {
            continue;
        };
        let length = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let kind = head[3];
        if kind != 0x4 || length > MAX_FIRST_SETTINGS || length % 6 != 0 {
            return Err(PrefaceError::NotSettings { kind, length });
        }
        if read.len() >= PREFACE.len() + 9 + length {
            return Ok(read);
        }
    }
}

/// What h2 itself answers a client whose preface is wrong: its own
/// (empty) SETTINGS, then GOAWAY `PROTOCOL_ERROR`, then the end of the
/// connection. A TLS client on a plain port then meets a server that does
/// not speak TLS (`ccaas probe` says so), not one that hangs up silently.
pub(crate) async fn refuse<W: AsyncWrite + Unpin>(io: &mut W) {
    const SETTINGS_THEN_GOAWAY: [u8; 26] = [
        0, 0, 0, 0x4, 0, 0, 0, 0, 0, // SETTINGS, empty
        0, 0, 8, 0x7, 0, 0, 0, 0, 0, // GOAWAY
        0, 0, 0, 0, // last stream: none
        0, 0, 0, 0x1, // PROTOCOL_ERROR
    ];
    if io.write_all(&SETTINGS_THEN_GOAWAY).await.is_ok() {
        let _ = io.shutdown().await;
    }
}

/// A connection, plain or TLS.
pub(crate) enum Accepted {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// One type for plain and TLS connections, as tonic's incoming stream
/// wants: the bytes read before (the preface) come first, and the
/// connection's slot is freed when tonic drops it.
pub(crate) struct Conn {
    inner: Accepted,
    info: TcpConnectInfo,
    replay: Vec<u8>,
    replayed: usize,
    _slot: OwnedSemaphorePermit,
}

impl Conn {
    pub(crate) fn new(inner: Accepted, replay: Vec<u8>, slot: OwnedSemaphorePermit) -> Self {
        let info = match &inner {
            Accepted::Plain(s) => s.connect_info(),
            Accepted::Tls(s) => s.get_ref().0.connect_info(),
        };
        Conn {
            inner,
            info,
            replay,
            replayed: 0,
            _slot: slot,
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;
    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for Accepted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Accepted::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Accepted::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Accepted::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Accepted::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Accepted::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Accepted::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }
    fn is_write_vectored(&self) -> bool {
        match self {
            Accepted::Plain(s) => s.is_write_vectored(),
            Accepted::Tls(s) => s.is_write_vectored(),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Accepted::Plain(s) => Pin::new(s).poll_flush(cx),
            Accepted::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Accepted::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Accepted::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.replayed < this.replay.len() {
            let left = &this.replay[this.replayed..];
            let n = left.len().min(buf.remaining());
            buf.put_slice(&left[..n]);
            this.replayed += n;
            if this.replayed == this.replay.len() {
                this.replay = Vec::new();
                this.replayed = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

/// Writes go straight to the connection; only reads replay.
impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn first(bytes: &[u8]) -> Result<Vec<u8>, PrefaceError> {
        let mut reader = bytes;
        first_frames(&mut reader).await
    }

    #[tokio::test]
    async fn the_preface_and_settings_are_read_and_kept() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend_from_slice(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
        bytes.extend_from_slice(b"more");
        assert_eq!(first(&bytes).await.ok(), Some(bytes.clone()));
    }

    #[tokio::test]
    async fn anything_else_is_refused_at_the_first_wrong_byte() {
        assert!(matches!(
            first(b"GET / HTTP/1.1\r\n").await,
            Err(PrefaceError::NotHttp2)
        ));
        let mut ping_first = PREFACE.to_vec();
        ping_first.extend_from_slice(&[0, 0, 8, 6, 0, 0, 0, 0, 0]);
        assert!(matches!(
            first(&ping_first).await,
            Err(PrefaceError::NotSettings { kind: 6, length: 8 })
        ));
        assert!(matches!(
            first(&PREFACE[..10]).await,
            Err(PrefaceError::Io(_))
        ));
    }
}
