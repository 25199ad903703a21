package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/gateway/gwclient"
	"github.com/idos-network/idos-node/node/module/kv"
	"github.com/idos-network/idos-node/node/readproof"
)

const maxProxyRequest = 1 << 20

func proxyCommand() *cli.Command {
	return &cli.Command{
		Name:      "proxy",
		Usage:     "serve verified reads on a local HTTP endpoint, in front of an untrusted gateway",
		UsageText: "idoslight proxy --listen 127.0.0.1:PORT [--gateway URL] [--home DIR] [--max-lag N]",
		Description: "Like Helios for Ethereum: programs on this machine ask the proxy, the\n" +
			"proxy asks the gateway for proofs and answers only what it verified\n" +
			"against headers it verified itself. Endpoints:\n\n" +
			"  GET  /v1/proof?key=HEX | ?prefix=HEX   a row (present or absent) or a complete range\n" +
			"  POST /v1/query/kv.get  {\"owner\",\"key\"}  the entry, its key computed here\n\n" +
			"Answer: {\"height\":H,\"kind\":\"row|absent|range\",\"table\":T,\"key\":HEX,\"rows\":[{column:value}]}.\n" +
			"Whatever cannot be verified (a bad proof, a stale height, a header fork,\n" +
			"a gateway error, an endpoint with no proof) is refused with HTTP 502 and\n" +
			"{\"error\":{\"code\":...,\"message\":...}}; a malformed request is 400.\n" +
			"The proxy holds the trusted store while it runs: use another --home for\n" +
			"other commands meanwhile. Stops on SIGINT or SIGTERM.",
		Flags: append(lightFlags(), gatewayFlag(),
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8545", Usage: "`ADDRESS` to listen on (keep it local)"}),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("unexpected arguments: %v", c.Args().Slice())
			}
			log, err := logger(c)
			if err != nil {
				return err
			}
			// No --timeout: the proxy runs until stopped.
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			c.Context = ctx
			s, err := openLight(c, log, true)
			if err != nil {
				return err
			}
			defer s.Close()
			ln, err := net.Listen("tcp", c.String("listen"))
			if err != nil {
				return err
			}
			p := &verifyingProxy{s: s, gw: gwclient.New(s.gateway, nil), log: log}
			srv := &http.Server{Handler: p.handler(), ReadHeaderTimeout: 10 * time.Second,
				BaseContext: func(net.Listener) context.Context { return ctx }}
			fmt.Fprintf(c.App.ErrWriter, "verifying proxy of %s (chain %s) listening on http://%s\n", s.gateway, s.cfg.ChainID, ln.Addr())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			log.Info("stopping the verifying proxy")
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				return err
			}
			fmt.Fprintln(c.App.ErrWriter, "verifying proxy stopped")
			return nil
		},
	}
}

type verifyingProxy struct {
	s   *lightSession
	gw  *gwclient.Client
	log *slog.Logger
}

func (p *verifyingProxy) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/proof", p.proof)
	mux.HandleFunc("POST /v1/query/kv.get", p.kvGet)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProxyError(w, http.StatusBadGateway, "not_verifiable",
			fmt.Sprintf("%s %s: this proxy answers only what it can verify: GET /v1/proof and POST /v1/query/kv.get", r.Method, r.URL.Path))
	})
	return mux
}

// proof serves GET /v1/proof?key=HEX or ?prefix=HEX, verified.
func (p *verifyingProxy) proof(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key, prefix := q.Get("key"), q.Get("prefix")
	if (key == "") == (prefix == "") {
		writeProxyError(w, http.StatusBadRequest, "bad_request", "give exactly one of key=HEX and prefix=HEX")
		return
	}
	arg, exact := key, true
	if prefix != "" {
		arg, exact = prefix, false
	}
	k, err := hex.DecodeString(arg)
	if err != nil || len(k) == 0 || len(k) > commitment.MaxKeyLen {
		writeProxyError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("%q is not a key in hex", arg))
		return
	}
	if _, _, err := tableOfKey(k); err != nil {
		writeProxyError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var read *lightclient.Read
	if exact {
		read, err = p.s.reader.Get(r.Context(), k)
	} else {
		read, err = p.s.reader.Range(r.Context(), k)
	}
	p.answer(w, r, k, read, err)
}

// kvGet serves POST /v1/query/kv.get: the key is computed from the request,
// the gateway's proof of its answer verified. An error answer (the gateway
// says query_failed both for a missing entry and for bad data) is never
// taken on the gateway's word: the key is then read with GET /v1/proof,
// which proves the entry present or absent.
func (p *verifyingProxy) kvGet(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxyRequest+1))
	if err != nil || len(body) > maxProxyRequest {
		writeProxyError(w, http.StatusBadRequest, "bad_request", "request body unreadable or over 1 MiB")
		return
	}
	var req kv.GetRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeProxyError(w, http.StatusBadRequest, "bad_request", "kv.get body: "+err.Error())
		return
	}
	key, err := commitment.Key("kv", []any{req.Owner, req.Key})
	if err != nil {
		writeProxyError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var read *lightclient.Read
	res, err := p.gw.QueryProven(r.Context(), "kv.get", body)
	if err != nil {
		p.log.Debug("kv.get refused by the gateway; proving the key instead", "err", err)
		read, err = p.s.reader.Get(r.Context(), key)
	} else {
		read, err = p.s.reader.Verify(r.Context(), readproof.KindRow, key, res.Proof)
	}
	p.answer(w, r, key, read, err)
}

func (p *verifyingProxy) answer(w http.ResponseWriter, r *http.Request, key []byte, read *lightclient.Read, err error) {
	if err != nil {
		code, _ := failureOf(err)
		if code == "" {
			code = "unverified"
		}
		p.log.Warn("refused an unverified answer", "path", r.URL.Path, "key", hex.EncodeToString(key), "failure", code, "err", err)
		writeProxyError(w, http.StatusBadGateway, code, verified(err).Error())
		return
	}
	ans, err := answerOf(read.Height, read.Kind, key, read.Rows)
	if err != nil {
		writeProxyError(w, http.StatusBadGateway, "unknown_schema", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(ans); err != nil && !errors.Is(err, context.Canceled) {
		p.log.Debug("write answer", "err", err)
	}
}

func writeProxyError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
