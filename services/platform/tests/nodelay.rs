//! The servers' accepted connections have TCP_NODELAY set (Nagle plus delayed ACK otherwise
//! holds every response over one segment for ~40 ms, seen from outside on small RPCs).

use tokio_stream::StreamExt as _;

#[tokio::test]
async fn accepted_connections_have_nodelay() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut incoming = pingan_platform::server::incoming(listener);
    let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let accepted = incoming
        .next()
        .await
        .expect("a connection")
        .expect("accepted");
    assert!(accepted.nodelay().expect("nodelay"), "server side");
    drop(client);
}
