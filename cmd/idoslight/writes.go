package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/lightclient"
	"github.com/idos-network/idos-node/node/module/idos/idosschema"
	"github.com/idos-network/idos-node/node/userclient"
)

// Writes: the gateway submits the transaction and says where it landed. With
// the light client configured (the default once `idoslight init` was run),
// that is not taken on its word: the command waits until the transaction is
// in a block whose header this client verified, checks it against the
// header's data hash (a merkle proof from the primary's /tx?prove=true) and
// its result against the next header's LastResultsHash, and only then
// reports success. Otherwise the receipt says "NOT verified".

// errTxFailed: the verified result code is not the one the gateway
// reported (a failure passed off as a success, or the other way round).
var errTxFailed = errors.New("the transaction's verified result is not the gateway's")

// writeFlags are the flags of every command that sends a transaction.
func writeFlags(extra ...cli.Flag) []cli.Flag {
	return signingFlags(append(append(verifyFlags(),
		&cli.DurationFlag{Name: "wait", Value: lightclient.DefaultWaitTimeout,
			Usage: "how long to wait for the transaction in a verified block (`DURATION`)"}), extra...)...)
}

// dialWrite dials the gateway as dial does and, when verifying, makes every
// receipt proven (userclient.Client.Confirm) and every credential a write
// starts from (edit, share) proven (userclient.Client.ReadCredential).
func dialWrite(c *cli.Context) (*userclient.Client, func(), error) {
	verify, reason, err := verifyMode(c)
	if err != nil {
		return nil, nil, err
	}
	if !verify {
		return dialUnverified(c, reason+" (the receipt will be the gateway's word)")
	}
	cl, s, done, err := dialVerified(c)
	if err != nil {
		return nil, nil, err
	}
	src, err := rpchttp.New(s.cfg.Primary, "/websocket")
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("primary %s: %w", s.cfg.Primary, err)
	}
	cl.Confirm = func(ctx context.Context, tx []byte, r *userclient.Receipt, code uint32) error {
		return confirmReceipt(ctx, s.reader, src, tx, r, code)
	}
	v := verifierOf(cl, s)
	cl.ReadCredential = func(ctx context.Context, id string) (*idosschema.Credential, error) {
		pc, err := v.Credential(ctx, id)
		if err != nil {
			return nil, verified(err)
		}
		return &pc.Credential, nil
	}
	return cl, done, nil
}

// confirmReceipt proves the gateway's receipt r of tx with result code
// (0: success), and marks it verified.
func confirmReceipt(ctx context.Context, reader *lightclient.Reader, src lightclient.TxSource, tx []byte, r *userclient.Receipt, code uint32) error {
	sum := sha256.Sum256(tx)
	if !strings.EqualFold(r.Hash, hex.EncodeToString(sum[:])) {
		return verified(fmt.Errorf("%w: the gateway's receipt names tx %s, the transaction sent is %X",
			lightclient.ErrTxNotIncluded, r.Hash, sum))
	}
	rc, err := reader.ConfirmTx(ctx, src, tx)
	if err != nil {
		return verified(err)
	}
	if rc.Result.Code != code {
		return verified(fmt.Errorf("%w: tx %X in block %d has code %d, the gateway said %d", errTxFailed, rc.Hash, rc.Height, rc.Result.Code, code))
	}
	if r.Height != rc.Height {
		return verified(fmt.Errorf("%w: the gateway said height %d, tx %X is proven in block %d",
			lightclient.ErrTxNotIncluded, r.Height, rc.Hash, rc.Height))
	}
	r.Verified = true
	return nil
}
