//! Generation of the kcp APIResourceSchemas and APIExports in `apis/`.
