package gateway

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/mempool"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/idos-network/idos-node/node/app"
)

// Mode is how long POST /v1/tx waits.
type Mode string

// Submission modes.
const (
	// ModeAsync returns once the transaction is handed to the mempool,
	// before CheckTx has answered.
	ModeAsync Mode = "async"
	// ModeSync returns CheckTx's answer (the default).
	ModeSync Mode = "sync"
	// ModeCommit waits until the transaction is in a committed block (or
	// CometBFT's rpc.timeout_broadcast_tx_commit passes).
	ModeCommit Mode = "commit"
)

// SubmitRequest is the body of POST /v1/tx.
type SubmitRequest struct {
	// Tx is the standard base64 of the encoded transaction
	// (docs/spec/transactions.md).
	Tx   string `json:"tx"`
	Mode Mode   `json:"mode,omitempty"`
}

// SubmitResponse is the body of a successful POST /v1/tx. In commit mode
// Code is the execution result: a committed transaction whose action failed
// answers 200 with Code 7, since its nonce is consumed and it is final.
type SubmitResponse struct {
	Hash      string `json:"hash"`
	Code      uint32 `json:"code"`
	Codespace string `json:"codespace"`
	Log       string `json:"log"`
	// Height is the block holding the transaction (commit mode only).
	Height int64 `json:"height"`
}

// TxResponse is the body of GET /v1/tx/{hash}.
type TxResponse struct {
	Hash      string  `json:"hash"`
	Height    int64   `json:"height"`
	Index     uint32  `json:"index"`
	Code      uint32  `json:"code"`
	Codespace string  `json:"codespace"`
	Log       string  `json:"log"`
	Tx        string  `json:"tx"` // base64 of the encoded transaction
	Events    []Event `json:"events"`
}

// Event is an ABCI event of a transaction result.
type Event struct {
	Type       string           `json:"type"`
	Attributes []EventAttribute `json:"attributes"`
}

// EventAttribute is one key/value of an Event.
type EventAttribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Index bool   `json:"index"`
}

func codespace(cs string) string {
	if cs == "" {
		return app.Codespace
	}
	return cs
}

func (s *Server) submitTx(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Node == nil {
		writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "transaction submission is not configured")
		return
	}
	var req SubmitRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	if req.Mode == "" {
		req.Mode = ModeSync
	}
	if req.Mode != ModeAsync && req.Mode != ModeSync && req.Mode != ModeCommit {
		writeError(w, http.StatusBadRequest, ErrBadRequest,
			fmt.Sprintf("mode %q: want async, sync or commit", req.Mode))
		return
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(req.Tx)
	if err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "tx is not standard base64: "+err.Error())
		return
	}
	if len(raw) == 0 {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "tx is empty")
		return
	}
	tx := cmttypes.Tx(raw)
	hash := hex.EncodeToString(tx.Hash())

	switch req.Mode {
	case ModeAsync:
		_, err := s.cfg.Node.BroadcastTxAsync(r.Context(), tx)
		if err != nil {
			s.broadcastFailed(w, req.Mode, hash, err)
			return
		}
		s.metrics.txSubmitted(req.Mode, "accepted")
		writeJSON(w, http.StatusAccepted, SubmitResponse{Hash: hash, Codespace: app.Codespace})

	case ModeSync:
		res, err := s.cfg.Node.BroadcastTxSync(r.Context(), tx)
		if err != nil {
			s.broadcastFailed(w, req.Mode, hash, err)
			return
		}
		s.answerCheckTx(w, req.Mode, hash, res.Code, res.Codespace, res.Log, 0)

	case ModeCommit:
		// CometBFT's local client subscribes every commit wait under one
		// subscriber name; past its per-client limit it fails anyway, so
		// refuse early with a retryable answer.
		select {
		case s.commitSem <- struct{}{}:
			defer func() { <-s.commitSem }()
		default:
			s.metrics.txSubmitted(req.Mode, "busy")
			w.Header().Set("Retry-After", "1")
			writeErrorDetail(w, http.StatusServiceUnavailable, ErrorDetail{Code: ErrBusy,
				Message: "too many commit-mode submissions waiting; retry or use mode sync", Hash: hash})
			return
		}
		res, err := s.cfg.Node.BroadcastTxCommit(r.Context(), tx)
		if err != nil {
			if res != nil && res.CheckTx.Code == abci.CodeTypeOK && strings.Contains(err.Error(), "timed out") {
				s.metrics.txSubmitted(req.Mode, "timeout")
				writeErrorDetail(w, http.StatusGatewayTimeout, ErrorDetail{Code: ErrCommitTimeout,
					Message: "transaction accepted but not committed in time; look it up by hash later", Hash: hash})
				return
			}
			s.broadcastFailed(w, req.Mode, hash, err)
			return
		}
		if res.CheckTx.Code != abci.CodeTypeOK {
			s.answerCheckTx(w, req.Mode, hash, res.CheckTx.Code, res.CheckTx.Codespace, res.CheckTx.Log, 0)
			return
		}
		s.metrics.txSubmitted(req.Mode, strconv.FormatUint(uint64(res.TxResult.Code), 10))
		writeJSON(w, http.StatusOK, SubmitResponse{
			Hash: hash, Code: res.TxResult.Code, Codespace: codespace(res.TxResult.Codespace),
			Log: res.TxResult.Log, Height: res.Height,
		})
	}
}

// answerCheckTx answers a CheckTx result: 200 when accepted, 422 with the
// application's code when refused.
func (s *Server) answerCheckTx(w http.ResponseWriter, mode Mode, hash string, code uint32, cs, log string, height int64) {
	s.metrics.txSubmitted(mode, strconv.FormatUint(uint64(code), 10))
	if code != abci.CodeTypeOK {
		writeErrorDetail(w, http.StatusUnprocessableEntity, ErrorDetail{
			Code: ErrTxRejected, Message: log, ABCICode: code, Codespace: codespace(cs), Hash: hash,
		})
		return
	}
	writeJSON(w, http.StatusOK, SubmitResponse{Hash: hash, Code: code, Codespace: codespace(cs), Log: log, Height: height})
}

// broadcastFailed answers a mempool error. BroadcastTxCommit flattens its
// errors to text (fmt %v), so the known mempool errors are also recognised
// by their message.
func (s *Server) broadcastFailed(w http.ResponseWriter, mode Mode, hash string, err error) {
	var tooLarge mempool.ErrTxTooLarge
	var full mempool.ErrMempoolIsFull
	var pre mempool.ErrPreCheck
	msg := err.Error()
	d := ErrorDetail{Hash: hash}
	status := http.StatusServiceUnavailable
	switch {
	case errors.Is(err, mempool.ErrTxInCache) || strings.Contains(msg, mempool.ErrTxInCache.Error()):
		status, d.Code, d.Message = http.StatusConflict, ErrTxInCache,
			"the node has already seen this transaction (pending or committed)"
	case errors.As(err, &tooLarge) || strings.Contains(msg, "Tx too large"):
		status, d.Code, d.Message = http.StatusRequestEntityTooLarge, ErrTxTooLarge, msg
	case errors.As(err, &full) || errors.Is(err, mempool.ErrRecheckFull) ||
		strings.Contains(msg, "mempool is full") || strings.Contains(msg, "still rechecking"):
		status, d.Code, d.Message = http.StatusServiceUnavailable, ErrMempoolFull, msg
		w.Header().Set("Retry-After", "1")
	case errors.As(err, &pre) || strings.Contains(msg, "tx pre check"):
		status, d.Code, d.Message = http.StatusUnprocessableEntity, ErrTxRejected, msg
	case strings.Contains(msg, "max_subscription"):
		status, d.Code, d.Message = http.StatusServiceUnavailable, ErrBusy, "node is busy; retry or use mode sync"
		w.Header().Set("Retry-After", "1")
	default:
		s.log.Warn("gateway: broadcast failed", "mode", mode, "hash", hash, "err", err)
		d.Code, d.Message = ErrUnavailable, "the node could not take the transaction"
	}
	s.metrics.txSubmitted(mode, d.Code)
	writeErrorDetail(w, status, d)
}

func (s *Server) getTx(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Node == nil {
		writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "transaction lookup is not configured")
		return
	}
	text := r.PathValue("hash")
	text = strings.TrimPrefix(strings.TrimPrefix(text, "0x"), "0X")
	hash, err := hex.DecodeString(text)
	if err != nil || len(hash) != 32 {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "hash: want 64 hex characters (SHA-256 of the transaction)")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readCallTimeout)
	defer cancel()
	res, err := s.cfg.Node.Tx(ctx, hash, false)
	if err != nil {
		// CometBFT reports a missing transaction only as text.
		if strings.Contains(err.Error(), "not found") {
			writeError(w, http.StatusNotFound, ErrTxNotFound,
				"no committed transaction with this hash (it may be pending, refused, or unknown)")
			return
		}
		s.log.Warn("gateway: tx lookup failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "transaction lookup unavailable")
		return
	}
	out := TxResponse{
		Hash:      hex.EncodeToString(hash),
		Height:    res.Height,
		Index:     res.Index,
		Code:      res.TxResult.Code,
		Codespace: codespace(res.TxResult.Codespace),
		Log:       res.TxResult.Log,
		Tx:        base64.StdEncoding.EncodeToString(res.Tx),
		Events:    []Event{},
	}
	for _, e := range res.TxResult.Events {
		ev := Event{Type: e.Type, Attributes: make([]EventAttribute, 0, len(e.Attributes))}
		for _, a := range e.Attributes {
			ev.Attributes = append(ev.Attributes, EventAttribute{Key: a.Key, Value: a.Value, Index: a.Index})
		}
		out.Events = append(out.Events, ev)
	}
	writeJSON(w, http.StatusOK, out)
}
