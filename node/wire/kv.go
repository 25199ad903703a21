package wire

// The kv module's payloads and answers (node/module/kv).

// KVPutPayload is the payload of "kv.put".
type KVPutPayload struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// KVDeletePayload is the payload of "kv.delete".
type KVDeletePayload struct {
	Key string `json:"key"`
}

// KVGetRequest is the data of the "kv.get" query.
type KVGetRequest struct {
	Owner string `json:"owner"`
	Key   string `json:"key"`
}

// KVEntry is the answer of "kv.get".
type KVEntry struct {
	Owner string `json:"owner"`
	Key   string `json:"key"`
	Value string `json:"value"`
}
