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

	"github.com/idos-network/idos-node/node/wire"
)

func codespace(cs string) string {
	if cs == "" {
		return wire.Codespace
	}
	return cs
}

func (s *Server) submitTx(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Node == nil {
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "transaction submission is not configured")
		return
	}
	var req wire.SubmitRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	if req.Mode == "" {
		req.Mode = wire.ModeSync
	}
	if req.Mode != wire.ModeAsync && req.Mode != wire.ModeSync && req.Mode != wire.ModeCommit {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest,
			fmt.Sprintf("mode %q: want async, sync or commit", req.Mode))
		return
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(req.Tx)
	if err != nil {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, "tx is not standard base64: "+err.Error())
		return
	}
	if len(raw) == 0 {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, "tx is empty")
		return
	}
	tx := cmttypes.Tx(raw)
	hash := hex.EncodeToString(tx.Hash())

	switch req.Mode {
	case wire.ModeAsync:
		_, err := s.cfg.Node.BroadcastTxAsync(r.Context(), tx)
		if err != nil {
			s.broadcastFailed(w, req.Mode, hash, err)
			return
		}
		s.metrics.txSubmitted(req.Mode, "accepted")
		writeJSON(w, http.StatusAccepted, wire.SubmitResponse{Hash: hash, Codespace: wire.Codespace})

	case wire.ModeSync:
		res, err := s.cfg.Node.BroadcastTxSync(r.Context(), tx)
		if err != nil {
			s.broadcastFailed(w, req.Mode, hash, err)
			return
		}
		s.answerCheckTx(w, req.Mode, hash, res.Code, res.Codespace, res.Log, 0)

	case wire.ModeCommit:
		// CometBFT's local client subscribes every commit wait under one
		// subscriber name; past its per-client limit it fails anyway, so
		// refuse early with a retryable answer.
		select {
		case s.commitSem <- struct{}{}:
			defer func() { <-s.commitSem }()
		default:
			s.metrics.txSubmitted(req.Mode, "busy")
			w.Header().Set("Retry-After", "1")
			writeErrorDetail(w, http.StatusServiceUnavailable, wire.ErrorDetail{Code: wire.ErrBusy,
				Message: "too many commit-mode submissions waiting; retry or use mode sync", Hash: hash})
			return
		}
		res, err := s.cfg.Node.BroadcastTxCommit(r.Context(), tx)
		if err != nil {
			if res != nil && res.CheckTx.Code == abci.CodeTypeOK && strings.Contains(err.Error(), "timed out") {
				s.metrics.txSubmitted(req.Mode, "timeout")
				writeErrorDetail(w, http.StatusGatewayTimeout, wire.ErrorDetail{Code: wire.ErrCommitTimeout,
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
		writeJSON(w, http.StatusOK, wire.SubmitResponse{
			Hash: hash, Code: res.TxResult.Code, Codespace: codespace(res.TxResult.Codespace),
			Log: res.TxResult.Log, Height: res.Height,
		})
	}
}

// answerCheckTx answers a CheckTx result: 200 when accepted, 422 with the
// application's code when refused.
func (s *Server) answerCheckTx(w http.ResponseWriter, mode wire.Mode, hash string, code uint32, cs, log string, height int64) {
	s.metrics.txSubmitted(mode, strconv.FormatUint(uint64(code), 10))
	if code != abci.CodeTypeOK {
		writeErrorDetail(w, http.StatusUnprocessableEntity, wire.ErrorDetail{
			Code: wire.ErrTxRejected, Message: log, ABCICode: code, Codespace: codespace(cs), Hash: hash,
		})
		return
	}
	writeJSON(w, http.StatusOK, wire.SubmitResponse{Hash: hash, Code: code, Codespace: codespace(cs), Log: log, Height: height})
}

// broadcastFailed answers a mempool error. BroadcastTxCommit flattens its
// errors to text (fmt %v), so the known mempool errors are also recognised
// by their message.
func (s *Server) broadcastFailed(w http.ResponseWriter, mode wire.Mode, hash string, err error) {
	var tooLarge mempool.ErrTxTooLarge
	var full mempool.ErrMempoolIsFull
	var pre mempool.ErrPreCheck
	msg := err.Error()
	d := wire.ErrorDetail{Hash: hash}
	status := http.StatusServiceUnavailable
	switch {
	case errors.Is(err, mempool.ErrTxInCache) || strings.Contains(msg, mempool.ErrTxInCache.Error()):
		status, d.Code, d.Message = http.StatusConflict, wire.ErrTxInCache,
			"the node has already seen this transaction (pending or committed)"
	case errors.As(err, &tooLarge) || strings.Contains(msg, "Tx too large"):
		status, d.Code, d.Message = http.StatusRequestEntityTooLarge, wire.ErrTxTooLarge, msg
	case errors.As(err, &full) || errors.Is(err, mempool.ErrRecheckFull) ||
		strings.Contains(msg, "mempool is full") || strings.Contains(msg, "still rechecking"):
		status, d.Code, d.Message = http.StatusServiceUnavailable, wire.ErrMempoolFull, msg
		w.Header().Set("Retry-After", "1")
	case errors.As(err, &pre) || strings.Contains(msg, "tx pre check"):
		status, d.Code, d.Message = http.StatusUnprocessableEntity, wire.ErrTxRejected, msg
	case strings.Contains(msg, "max_subscription"):
		status, d.Code, d.Message = http.StatusServiceUnavailable, wire.ErrBusy, "node is busy; retry or use mode sync"
		w.Header().Set("Retry-After", "1")
	default:
		s.log.Warn("gateway: broadcast failed", "mode", mode, "hash", hash, "err", err)
		d.Code, d.Message = wire.ErrUnavailable, "the node could not take the transaction"
	}
	s.metrics.txSubmitted(mode, d.Code)
	writeErrorDetail(w, status, d)
}

func (s *Server) getTx(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Node == nil {
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "transaction lookup is not configured")
		return
	}
	text := r.PathValue("hash")
	text = strings.TrimPrefix(strings.TrimPrefix(text, "0x"), "0X")
	hash, err := hex.DecodeString(text)
	if err != nil || len(hash) != 32 {
		writeError(w, http.StatusBadRequest, wire.ErrBadRequest, "hash: want 64 hex characters (SHA-256 of the transaction)")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readCallTimeout)
	defer cancel()
	res, err := s.cfg.Node.Tx(ctx, hash, false)
	if err != nil {
		// CometBFT reports a missing transaction only as text.
		if strings.Contains(err.Error(), "not found") {
			writeError(w, http.StatusNotFound, wire.ErrTxNotFound,
				"no committed transaction with this hash (it may be pending, refused, or unknown)")
			return
		}
		s.log.Warn("gateway: tx lookup failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, wire.ErrUnavailable, "transaction lookup unavailable")
		return
	}
	out := wire.TxResponse{
		Hash:      hex.EncodeToString(hash),
		Height:    res.Height,
		Index:     res.Index,
		Code:      res.TxResult.Code,
		Codespace: codespace(res.TxResult.Codespace),
		Log:       res.TxResult.Log,
		Tx:        base64.StdEncoding.EncodeToString(res.Tx),
		Events:    []wire.Event{},
	}
	for _, e := range res.TxResult.Events {
		ev := wire.Event{Type: e.Type, Attributes: make([]wire.EventAttribute, 0, len(e.Attributes))}
		for _, a := range e.Attributes {
			ev.Attributes = append(ev.Attributes, wire.EventAttribute{Key: a.Key, Value: a.Value, Index: a.Index})
		}
		out.Events = append(out.Events, ev)
	}
	writeJSON(w, http.StatusOK, out)
}
