package drivers_test

import (
	"testing"

	"github.com/idos-network/idos-node/node/app"
	"github.com/idos-network/idos-node/node/module"
	"github.com/idos-network/idos-node/node/module/approval"
	"github.com/idos-network/idos-node/node/module/drivers"
	"github.com/idos-network/idos-node/node/observation"
)

// TestAgreement: 4 validators of power 10 on two app instances. Three
// attest the identical observation: it applies and the grantee reads the
// shared credential; the fourth's late attestation changes nothing. A
// liar's different observation never applies and expires. A deletion
// agreed the same way removes the grant; agreeing on it again, or on the
// older addition, changes nothing.
func TestAgreement(t *testing.T) {
	w := newWorld(t, 2)
	n, v := w.n, w.vals
	add := encode(t, w.grant(observation.Added, 100))
	lie := w.grant(observation.Added, 100)
	lie.LockedUntil = "99999999999" // the liar's endpoint adds a lock
	liar := encode(t, lie)

	if code := n.readCredential(w.grantee); code != app.CodeForbidden {
		t.Fatalf("grantee reads before any grant: code %d", code)
	}
	n.block(attest(v[1], nil, add), attest(v[4], nil, liar), attest(v[1], nil, add)) // a resend is counted once
	n.block(attest(v[2], nil, add))
	if s := n.status(drivers.Digest(liar)); s != approval.StatusPending {
		t.Fatalf("the liar's observation: status %q, want pending", s)
	}
	if s := n.status(drivers.Digest(add)); s != approval.StatusPending {
		t.Fatalf("20 of 40 attested: status %q", s)
	}
	if code := n.readCredential(w.grantee); code != app.CodeForbidden {
		t.Fatalf("grantee reads at 20 of 40: code %d", code)
	}
	n.block(attest(v[3], nil, add))
	if s := n.status(drivers.Digest(add)); s != approval.StatusApproved {
		t.Fatalf("30 of 40 attested: status %q", s)
	}
	if code := n.readCredential(w.grantee); code != app.CodeOK {
		t.Fatalf("grantee cannot read the credential after agreement: code %d", code)
	}
	var o drivers.GrantOrigin
	n.query("drivers.grant", drivers.GrantQuery{GrantID: w.grantID()}, &o)
	if o.Kind != "added" || o.BlockNumber != 100 || o.Chain != evmChain || o.Digest != drivers.Digest(add) {
		t.Fatalf("origin %+v", o)
	}
	// The late fourth attestation of the applied observation is a no-op.
	n.block(attest(v[4], nil, add))
	if s := n.status(drivers.Digest(add)); s != approval.StatusApproved {
		t.Fatalf("late attestation reopened it: %q", s)
	}
	// The liar's observation (opened at height 3 with expiry 4) expired.
	n.block()
	if s := n.status(drivers.Digest(liar)); s != expiredGone {
		t.Fatalf("the liar's observation: status %q, want expired", s)
	}
	n.query("drivers.grant", drivers.GrantQuery{GrantID: w.grantID()}, &o)
	if o.Digest != drivers.Digest(add) {
		t.Fatalf("the lie changed the grant: %+v", o)
	}

	// Deletion on the chain at block 120, agreed by 1, 2, 4.
	del := encode(t, w.grant(observation.Deleted, 120))
	n.block(attest(v[1], nil, del), attest(v[2], nil, del))
	if code := n.readCredential(w.grantee); code != app.CodeOK {
		t.Fatalf("20 of 40 deleted the grant: code %d", code)
	}
	n.block(attest(v[4], nil, del))
	if code := n.readCredential(w.grantee); code != app.CodeForbidden {
		t.Fatalf("grantee still reads after an agreed deletion: code %d", code)
	}
	// Idempotence: the old addition at block 100 re-agreed (it was
	// decided, so attestations are no-ops) and a deletion of the absent
	// grant at a later block change no grant.
	n.block(attest(v[1], nil, add), attest(v[2], nil, add), attest(v[3], nil, add))
	del2 := encode(t, w.grant(observation.Deleted, 130))
	n.block(attest(v[1], nil, del2), attest(v[2], nil, del2), attest(v[3], nil, del2))
	if s := n.status(drivers.Digest(del2)); s != approval.StatusApproved {
		t.Fatalf("second deletion: %q", s)
	}
	if code := n.readCredential(w.grantee); code != app.CodeForbidden {
		t.Fatalf("grant came back: code %d", code)
	}
	// An addition older than the deletion, first seen now, is stale.
	old := encode(t, w.grant(observation.Added, 110))
	n.block(attest(v[1], nil, old), attest(v[2], nil, old), attest(v[3], nil, old))
	if s := n.status(drivers.Digest(old)); s != drivers.StatusStale {
		t.Fatalf("older addition: %q, want stale", s)
	}
	if code := n.readCredential(w.grantee); code != app.CodeForbidden {
		t.Fatalf("a stale addition restored the grant: code %d", code)
	}
	// Re-added later on the chain: applies again.
	readd := encode(t, w.grant(observation.Added, 140))
	n.block(attest(v[2], nil, readd), attest(v[3], nil, readd), attest(v[4], nil, readd))
	if code := n.readCredential(w.grantee); code != app.CodeOK {
		t.Fatalf("re-added grant: code %d", code)
	}
}

// TestSplit: 2 of 4 validators see one observation and 2 another: neither
// reaches 2/3, nothing applies, both expire.
func TestSplit(t *testing.T) {
	w := newWorld(t, 2)
	n, v := w.n, w.vals
	a := encode(t, w.grant(observation.Added, 100))
	g := w.grant(observation.Added, 100)
	g.BlockHash = "0xfork"
	b := encode(t, g)
	n.block(attest(v[1], nil, a), attest(v[2], nil, a), attest(v[3], nil, b), attest(v[4], nil, b))
	if sa, sb := n.status(drivers.Digest(a)), n.status(drivers.Digest(b)); sa != approval.StatusPending || sb != approval.StatusPending {
		t.Fatalf("split: %q %q, want both pending", sa, sb)
	}
	for range expiry {
		n.block()
	}
	if ps := n.pending(); len(ps) != 0 {
		t.Fatalf("expired observations left state: %+v", ps)
	}
	if sa, sb := n.status(drivers.Digest(a)), n.status(drivers.Digest(b)); sa != expiredGone || sb != expiredGone {
		t.Fatalf("split: %q %q, want both expired and forgotten", sa, sb)
	}
	if code := n.readCredential(w.grantee); code != app.CodeForbidden {
		t.Fatalf("a split applied a grant: code %d", code)
	}
	// Attestations after expiry open it again (a fresh window).
	n.block(attest(v[1], nil, a))
	if s := n.status(drivers.Digest(a)); s != approval.StatusPending {
		t.Fatalf("reopened: %q", s)
	}
}

// TestRefusals: a non-validator's attestation, a validator signing with
// another scheme, an unknown chain, a malformed or non-canonical
// encoding, an observation listed twice: each refused with its code, and
// nothing recorded.
func TestRefusals(t *testing.T) {
	w := newWorld(t, 1)
	n, v := w.n, w.vals
	add := encode(t, w.grant(observation.Added, 100))
	other := w.grant(observation.Added, 100)
	other.Chain = "eip155:1"
	noncanon := append([]byte{}, add...)
	noncanon = append(noncanon, 0) // trailing byte
	n.block(
		attest(edParty(9), drivers.ErrNotValidator, add),
		attest(w.owner, drivers.ErrWrongScheme, add),
		attest(v[1], drivers.ErrUnknownChain, encode(t, other)),
		attest(v[1], drivers.ErrObservation, noncanon),
		attest(v[1], module.ErrInvalidPayload, add, add),
		attest(v[1], module.ErrInvalidPayload),
	)
	if ps := n.pending(); len(ps) != 0 {
		t.Fatalf("refused attestations left proposals: %+v", ps)
	}
	if code := n.apps[0].ResultCode(drivers.ErrNotValidator); code != module.CodeNotValidator {
		t.Fatalf("not-validator code %d", code)
	}
}

// TestChainByApproval: a chain not in genesis is enabled by 2/3 approving
// its config; until then its observations are refused.
func TestChainByApproval(t *testing.T) {
	w := newWorld(t, 2)
	n, v := w.n, w.vals
	c := chainConfig()
	c.Chain = "eip155:1"
	g := w.grant(observation.Added, 5)
	g.Chain = c.Chain
	enc := encode(t, g)
	n.block(step{v[1], "drivers.propose_chain", drivers.ChainPayload{Chain: c}, nil}, attest(v[1], drivers.ErrUnknownChain, enc))
	n.block(step{v[2], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: c.Digest()}, nil},
		step{v[2], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: c.Digest()}, drivers.ErrDuplicate})
	n.block(step{v[3], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: c.Digest()}, nil})
	var cs []drivers.ChainRow
	n.query("drivers.chains", nil, &cs)
	if len(cs) != 2 || cs[0].Chain.Chain != "eip155:1" || cs[0].Status != "enabled" {
		t.Fatalf("chains %+v", cs)
	}
	n.block(attest(v[1], nil, enc), step{v[4], "drivers.approve_chain", drivers.ApproveChainPayload{Digest: c.Digest()}, drivers.ErrDecided})
	bad := c
	bad.LockUnit = "ms"
	n.block(step{v[1], "drivers.propose_chain", drivers.ChainPayload{Chain: bad}, drivers.ErrChainConfig})
}
