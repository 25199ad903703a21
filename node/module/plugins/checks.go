package plugins

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/wasmhost"
)

// Deferred module checks.
//
// Registering a module (compile, _initialize, metadata) costs seconds for
// a large valid module, and a block that waits for it stalls the chain on
// every node. So a proposal does only linear work in its own block (the
// upload, the hash, the static limits of meter.Check); the registration
// runs in the background on every node from then on, and its verdict is
// taken at a fixed later height, check_height = proposal height +
// check_delay_blocks, where the proposal opens for approvals or is refused.
// The verdict depends only on the bytes and the Wasm limits, as it did when
// it was taken in the proposal's block; only its height moved. A node that
// has not finished by then (it restarted, or it is far slower than the
// chain) finishes in that block: the stall is then its own, not the
// chain's. See docs/spec/plugins.md, "Checking a proposed module".

// verdict is the outcome of registering a module under one set of limits.
type verdict struct {
	meta wasmhost.Metadata
	code []byte
	err  error
}

type checkKey struct {
	module [sha256.Size]byte
	limits wasmhost.Limits
}

type checkJob struct {
	done chan struct{}
	v    verdict
}

// checks runs registrations in the background, one goroutine per (module,
// limits), one registration at a time.
// One at a time leaves the other cores to consensus: several proposals
// in a block (one per proposer) would otherwise compile on every core at
// once and slow the blocks they were moved out of.
type checks struct {
	mu   sync.Mutex
	jobs map[checkKey]*checkJob
	one  chan struct{} // a token per running registration; capacity 1
}

// start begins registering wasm under l unless that is under way.
func (c *checker) start(wasm []byte, l wasmhost.Limits) {
	k := checkKey{sha256.Sum256(wasm), l}
	c.checks.mu.Lock()
	defer c.checks.mu.Unlock()
	if c.checks.jobs == nil {
		c.checks.jobs = map[checkKey]*checkJob{}
		c.checks.one = make(chan struct{}, 1)
	}
	if _, ok := c.checks.jobs[k]; ok {
		return
	}
	j := &checkJob{done: make(chan struct{})}
	c.checks.jobs[k] = j
	one := c.checks.one
	go func() {
		defer close(j.done)
		backgroundPriority()
		one <- struct{}{}
		defer func() { <-one }()
		// Not the block's context: the job outlives the block that
		// started it. The wasm call timeout still bounds it.
		meta, code, err := c.check(context.Background(), wasm, l)
		j.v = verdict{meta, code, err}
	}()
}

// verdict returns the registration of wasm under l: the background job's,
// waited for, or done now if there is none (decideChecks drops jobs no
// pending check needs). A local failure (a timeout, a runtime closed by
// the node's shutdown) is returned as it is, for the caller to halt on,
// and the job is forgotten so that a replay of the block checks again.
func (c *checker) verdict(ctx context.Context, wasm []byte, l wasmhost.Limits) (verdict, error) {
	k := checkKey{sha256.Sum256(wasm), l}
	c.checks.mu.Lock()
	j := c.checks.jobs[k]
	c.checks.mu.Unlock()
	var v verdict
	if j == nil {
		meta, code, err := c.check(ctx, wasm, l)
		v = verdict{meta, code, err}
	} else {
		select {
		case <-j.done:
			v = j.v
		case <-ctx.Done():
			return verdict{}, ctx.Err()
		}
	}
	if errors.Is(v.err, wasmhost.ErrTimeout) || errors.Is(v.err, wasmhost.ErrClosed) {
		c.checks.mu.Lock()
		delete(c.checks.jobs, k) // a replay of the block checks again
		c.checks.mu.Unlock()
		return verdict{}, v.err
	}
	return v, nil
}

// checking is a proposal whose module is being checked.
type checking struct {
	scheme, proposer       string
	keyType, addressFormat string
	wasm, codeHash         []byte
	checkHeight            int64
}

// loadChecking returns the proposals being checked whose check height is
// h, or, with later set, those whose check height is after h.
func loadChecking(env *module.Env, later bool) ([]checking, error) {
	cond := `check_height = ?`
	if later {
		cond = `check_height > ?`
	}
	rows, err := env.DB.QueryContext(env.Ctx,
		`SELECT scheme, proposer, key_type, address_format, module, code_hash, check_height FROM plugins
		 WHERE status = ? AND `+cond+` ORDER BY scheme`, StatusChecking, env.Height)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []checking
	for rows.Next() {
		var ch checking
		if err := rows.Scan(&ch.scheme, &ch.proposer, &ch.keyType, &ch.addressFormat, &ch.wasm, &ch.codeHash, &ch.checkHeight); err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, rows.Err()
}

// startChecks begins the registration of wasm under every set of Wasm
// limits in force at h or scheduled after it.
func (c *checker) startChecks(env *module.Env, wasm []byte) error {
	sched, err := scheduledLimits(env.Ctx, env.DB, env.Height)
	if err != nil {
		return err
	}
	for _, s := range sched {
		c.start(wasm, s.Wasm)
	}
	return nil
}

// decideChecks takes the verdicts due at this height, in scheme order: a
// module that registers under the limits in force and every change
// scheduled, and whose metadata matches the proposal, opens its proposal
// (with the proposer's approval); any other is refused, with the class of
// the first failure in refusal. It also restarts the background jobs of
// later checks, which a node that restarted has lost.
func (c *checker) decideChecks(env *module.Env, p Params) error {
	due, err := loadChecking(env, false)
	if err != nil {
		return err
	}
	for _, ch := range due {
		refusal, code, err := c.decide(env, ch)
		if err != nil {
			return err
		}
		if refusal != "" {
			if _, err := env.DB.ExecContext(env.Ctx,
				`UPDATE plugins SET status = ?, refusal = ? WHERE scheme = ?`, StatusRefused, refusal, ch.scheme); err != nil {
				return err
			}
			continue
		}
		if string(code) != string(ch.codeHash) {
			// The meter is deterministic: the host metered the same bytes
			// with the same meter to another result. Halt, do not decide.
			return fmt.Errorf("plugins: %q: the registered code hash %x is not the proposal's %x", ch.scheme, code, ch.codeHash)
		}
		if _, err := env.DB.ExecContext(env.Ctx,
			`UPDATE plugins SET status = ? WHERE scheme = ?`, StatusPending, ch.scheme); err != nil {
			return err
		}
		if err := engine.Propose(env, KindAdd, ch.scheme, ch.proposer, p.ProposalExpiryBlocks, p.ApprovalThreshold, c.apply(p)); err != nil {
			return err
		}
	}
	later, err := loadChecking(env, true)
	if err != nil {
		return err
	}
	sched, err := scheduledLimits(env.Ctx, env.DB, env.Height)
	if err != nil {
		return err
	}
	keep := map[checkKey]bool{}
	for _, ch := range later {
		sum := sha256.Sum256(ch.wasm)
		for _, s := range sched {
			c.start(ch.wasm, s.Wasm)
			keep[checkKey{sum, s.Wasm}] = true
		}
	}
	// Verdicts stay until no proposal being checked needs them: two
	// proposals of the same bytes share one job, and the second must not
	// register again inside its block. Local bookkeeping, not state.
	c.checks.mu.Lock()
	for k := range c.checks.jobs {
		if !keep[k] {
			delete(c.checks.jobs, k)
		}
	}
	c.checks.mu.Unlock()
	return nil
}

// decide returns the refusal of a checked module ("" if it passed) and
// its code hash; an error is local (a timeout) or of the database.
func (c *checker) decide(env *module.Env, ch checking) (refusal string, code []byte, err error) {
	sched, err := scheduledLimits(env.Ctx, env.DB, env.Height)
	if err != nil {
		return "", nil, err
	}
	var meta wasmhost.Metadata
	for _, s := range sched {
		v, err := c.verdict(env.Ctx, ch.wasm, s.Wasm)
		if err != nil {
			return "", nil, err
		}
		if v.err != nil {
			return fmt.Sprintf("under the wasm limits from height %d: %s", max(s.ActiveFrom, env.Height), refusalClass(v.err)), nil, nil
		}
		meta, code = v.meta, v.code
	}
	if err := matchMetadata(meta, ProposePayload{Scheme: ch.scheme, KeyType: ch.keyType, AddressFormat: ch.addressFormat}); err != nil {
		return err.Error(), nil, nil
	}
	return "", code, nil
}

// refusalClasses name the registration failures a refusal records, most
// specific first. The class, not the error's text, goes into state: the
// text of a trap or a compile error may differ between wazero's engines
// and versions, the class may not (both engines' agreement on it is
// tested).
var refusalClasses = []struct {
	err  error
	name string
}{
	{wasmhost.ErrForbiddenImport, "forbidden import"},
	{wasmhost.ErrMissingExport, "missing or mistyped export"},
	{wasmhost.ErrABIVersion, "unsupported ABI version"},
	{wasmhost.ErrBadMetadata, "bad metadata"},
	{wasmhost.ErrOutOfFuel, "out of fuel"},
	{wasmhost.ErrCallDepth, "stack budget exceeded"},
	{wasmhost.ErrOutputTooLarge, "output too large"},
	{wasmhost.ErrProtocol, "ABI protocol broken"},
	{wasmhost.ErrTrap, "trap"},
	{wasmhost.ErrInvalidModule, "invalid module"},
}

func refusalClass(err error) string {
	for _, rc := range refusalClasses {
		if errors.Is(err, rc.err) {
			return rc.name
		}
	}
	return "module failed at registration"
}
