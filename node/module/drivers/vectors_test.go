package drivers

import (
	"math"
	"testing"

	"github.com/idos-network/idos-node/node/module/approval"
)

// The vectors of docs/spec/drivers.md: grant id, chain config digest, lock
// conversion.
func TestVectors(t *testing.T) {
	if got := GrantID("eip155:1", "0xc0ffee", "0xaa", "0xbb", "00000000-0000-4000-8000-0000000000c1"); got != "edd6ae19-7c91-8900-aa59-2b4ba7d6c5ab" {
		t.Errorf("grant id %s", got)
	}
	c := Chain{Chain: "eip155:1", Contract: "0xc0ffee", Confirmations: 12,
		DriverSHA256: "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1", AccountScheme: "eip191", LockUnit: "s"}
	if got := c.Digest(); got != "940f2616cb7060dabd4d370f1ab5c2fa8ad8703c32db58f8834279d25be8a64b" {
		t.Errorf("chain digest %s", got)
	}
	for _, v := range []struct {
		unit, in string
		want     int64
	}{{"s", "0", 0}, {"s", "1700000000", 1700000000}, {"ns", "1700000000999999999", 1700000000},
		{"s", "99999999999999999999", math.MaxInt64}} {
		if got := LockedUntil(v.unit, v.in); got != v.want {
			t.Errorf("LockedUntil(%s, %s) = %d, want %d", v.unit, v.in, got, v.want)
		}
	}
	if a, ok := Address("eip191", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"); !ok || a != "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" {
		t.Errorf("EIP-55: %s %v", a, ok)
	}
}

// The agreement rule table of docs/spec/drivers.md: 4 validators of power
// 10, threshold 2/3; an observation applies iff the power that attested
// its identical encoding reaches 2/3 of the current total.
func TestAgreementTable(t *testing.T) {
	twoThirds := approval.Fraction{Numerator: 2, Denominator: 3}
	for i, c := range []struct {
		identical, total int64
		applies          bool
	}{
		{40, 40, true},  // all four
		{30, 40, true},  // three of four; the fourth lied or was down
		{20, 40, false}, // two and two: neither side applies
		{10, 40, false}, // one liar
		{30, 30, true},  // 4th validator removed: 3 of 3
		{20, 30, true},  // 2 of 3 remaining: exactly 2/3
		{0, 40, false},
	} {
		if got := twoThirds.Reached(c.identical, c.total); got != c.applies {
			t.Errorf("%d: %d of %d: applies %v, want %v", i, c.identical, c.total, got, c.applies)
		}
	}
}
