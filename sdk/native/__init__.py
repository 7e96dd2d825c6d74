"""The native Handle protocol (RFC 3651/3652, Handle.Net protocol 2.x, the CAICT variant): its codec, and a
client that speaks it over UDP and TCP (`client`).

The codec (`wire`, `codes`, `message`, `values`, `bodies`, `credential`, `auth`, `udp`) is pure Python on the
standard library, bytes in and bytes out; the node's native front end uses the same codec as the client."""
