//! The web's rules a request follows between the wire and the caller: redirects, auth,
//! cookies, decompression, retries. Empty for now (issues 17 and 19 land here); it sits
//! above `request` and `transport` and below `dispatch`, which applies its decisions.
