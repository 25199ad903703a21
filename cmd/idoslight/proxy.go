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
	"github.com/idos-network/idos-node/lightclient/idosverify"
	"github.com/idos-network/idos-node/node/commitment"
	"github.com/idos-network/idos-node/node/gateway/gwclient"
	"github.com/idos-network/idos-node/node/readproof"
	"github.com/idos-network/idos-node/node/userclient"
	"github.com/idos-network/idos-node/node/wire"
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
			"  POST /v1/query/kv.get  {\"owner\",\"key\"}  the entry, its key computed here\n" +
			"  POST /v1/query/account {\"id\"}         the account's nonce row, or its absence\n" +
			"  POST /v1/query/validators.list | validators.requests | plugins.list | plugins.requests\n" +
			"                                         the whole table, proven complete (filter it yourself)\n" +
			"With --key (the proxy signs its challenges as that key), the idOS reads of\n" +
			"that key, proven as `idoslight me|wallets|credentials|credential get|grants`:\n" +
			"  POST /v1/private/idos.get_user | get_wallets | get_credentials |\n" +
			"       get_grants_owned | get_grants_received | get_credential {\"credential_id\"}\n\n" +
			"Answer: {\"height\":H,\"kind\":\"row|absent|range\",\"table\":T,\"key\":HEX,\"rows\":[{column:value}]};\n" +
			"the private reads answer {\"verified\":true,\"height\":H,...} as the commands' --json.\n" +
			"Whatever cannot be verified (a bad proof, a stale height, a header fork,\n" +
			"a gateway error, an endpoint with no proof) is refused with HTTP 502 and\n" +
			"{\"error\":{\"code\":...,\"message\":...}}; a malformed request is 400.\n" +
			"The proxy holds the trusted store while it runs: use another --home for\n" +
			"other commands meanwhile. Stops on SIGINT or SIGTERM." + verifiedHelp,
		Flags: append(append(lightFlags(), gatewayFlag(),
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8545", Usage: "`ADDRESS` to listen on (keep it local)"},
			&cli.StringFlag{Name: "key", EnvVars: []string{"IDOSLIGHT_KEY"}, Usage: "serve the idOS private reads of key `NAME` (optional)"}),
			keystoreFlags()...),
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
			if c.String("key") != "" {
				key, err := loadKey(c)
				if err != nil {
					return err
				}
				cl := &userclient.Client{GW: p.gw, Key: key, ChainID: s.cfg.ChainID, Log: log}
				p.idos = verifierOf(cl, s)
			}
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
	// idos proves the private reads of --key; nil without it.
	idos *idosverify.Verifier
}

func (p *verifyingProxy) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/proof", p.proof)
	mux.HandleFunc("POST /v1/query/kv.get", p.kvGet)
	for name, scope := range publicScopes {
		mux.HandleFunc("POST /v1/query/"+name, func(w http.ResponseWriter, r *http.Request) { p.public(w, r, scope) })
	}
	for name, read := range privateReads {
		mux.HandleFunc("POST /v1/private/"+name, func(w http.ResponseWriter, r *http.Request) { p.private(w, r, read) })
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProxyError(w, http.StatusBadGateway, "not_verifiable",
			fmt.Sprintf("%s %s: this proxy answers only what it can verify (see idoslight proxy --help)", r.Method, r.URL.Path))
	})
	return mux
}

// publicScopes are the public queries besides kv.get whose answer the
// proxy proves: the key (exact) or prefix they read is computed here from
// the request, never taken from the gateway.
var publicScopes = map[string]func(body []byte) (key []byte, exact bool, err error){
	"account": func(body []byte) ([]byte, bool, error) {
		var q wire.AccountQuery
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil || q.ID == "" {
			return nil, false, fmt.Errorf("account body: want {\"id\": ACCOUNT} (%v)", err)
		}
		k, err := commitment.Key("accounts", []any{q.ID})
		return k, true, err
	},
	"validators.list":     wholeTable("validators"),
	"validators.requests": wholeTable("validator_requests"),
	"plugins.list":        wholeTable("plugins"),
	"plugins.requests":    wholeTable("plugin_requests"),
	"drivers.chains":      wholeTable("driver_chains"),
}

func wholeTable(table string) func([]byte) ([]byte, bool, error) {
	return func([]byte) ([]byte, bool, error) {
		k, err := commitment.TablePrefix(table)
		return k, false, err
	}
}

// public serves a query of publicScopes: the rows it reads, proven.
func (p *verifyingProxy) public(w http.ResponseWriter, r *http.Request, scope func([]byte) ([]byte, bool, error)) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxyRequest+1))
	if err != nil || len(body) > maxProxyRequest {
		writeProxyError(w, http.StatusBadRequest, "bad_request", "request body unreadable or over 1 MiB")
		return
	}
	key, exact, err := scope(body)
	if err != nil {
		writeProxyError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var read *lightclient.Read
	if exact {
		read, err = p.s.reader.Get(r.Context(), key)
	} else {
		read, err = p.s.reader.Range(r.Context(), key)
	}
	p.answer(w, r, key, read, err)
}

// privateReads are the idOS reads the proxy proves for --key.
var privateReads = map[string]func(ctx context.Context, v *idosverify.Verifier, body []byte) (any, error){
	"idos.get_user": func(ctx context.Context, v *idosverify.Verifier, _ []byte) (any, error) { return v.User(ctx) },
	"idos.get_wallets": func(ctx context.Context, v *idosverify.Verifier, _ []byte) (any, error) {
		c, err := v.Caller(ctx)
		if err != nil {
			return nil, err
		}
		return struct {
			*idosverify.Caller
			Wallets []idosverify.Wallet `json:"wallets"`
		}{c, c.Wallets}, nil
	},
	"idos.get_credentials": func(ctx context.Context, v *idosverify.Verifier, _ []byte) (any, error) {
		c, err := v.Credentials(ctx)
		if err != nil {
			return nil, err
		}
		return struct {
			*idosverify.ProvenCredentials
			Credentials []idosverify.Credential `json:"credentials"`
		}{c, c.Credentials}, nil
	},
	"idos.get_grants_owned": func(ctx context.Context, v *idosverify.Verifier, _ []byte) (any, error) {
		return v.GrantsOwned(ctx)
	},
	"idos.get_grants_received": func(ctx context.Context, v *idosverify.Verifier, _ []byte) (any, error) {
		return v.GrantsReceived(ctx)
	},
	"idos.get_credential": func(ctx context.Context, v *idosverify.Verifier, body []byte) (any, error) {
		var q struct {
			CredentialID string `json:"credential_id"`
		}
		if err := json.Unmarshal(body, &q); err != nil || q.CredentialID == "" {
			return nil, usageErrorf("get_credential body: want {\"credential_id\": ID}")
		}
		c, err := v.Credential(ctx, q.CredentialID)
		if err != nil {
			return nil, err
		}
		return struct {
			*idosverify.ProvenCredential
			Credential idosverify.Credential `json:"credential"`
		}{c, c.Credential}, nil
	},
}

// private serves an idOS read of --key, proven (lightclient/idosverify).
func (p *verifyingProxy) private(w http.ResponseWriter, r *http.Request, read func(context.Context, *idosverify.Verifier, []byte) (any, error)) {
	if p.idos == nil {
		writeProxyError(w, http.StatusBadGateway, "not_verifiable", "start the proxy with --key to serve the idOS reads of that key")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxyRequest+1))
	if err != nil || len(body) > maxProxyRequest {
		writeProxyError(w, http.StatusBadRequest, "bad_request", "request body unreadable or over 1 MiB")
		return
	}
	v, err := read(r.Context(), p.idos, body)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		writeProxyError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		p.answer(w, r, nil, nil, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(struct {
		Verified bool `json:"verified"`
		Answer   any  `json:"answer"`
	}{true, v}); err != nil && !errors.Is(err, context.Canceled) {
		p.log.Debug("write answer", "err", err)
	}
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
	var req wire.KVGetRequest
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
	if fe, ok := forbidden(err); ok {
		writeProxyError(w, http.StatusForbidden, wire.ErrForbidden, fe.Error())
		return
	}
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
