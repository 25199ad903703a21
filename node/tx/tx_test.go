package tx

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/idos-network/idos-node/node/auth"
)

// Golden vectors. They pin the wire encoding, the sign bytes and the hash: if
// any of these tests fails, the consensus format changed. Do not update the
// constants without a new Version. They are copied into
// docs/spec/transactions.md.
const (
	goldenChainID = "idos-devnet"
	goldenNonce   = 7
	goldenAction  = "kv.put"
	goldenPayload = `{"key":"greeting","value":"hello"}`

	goldenSignBytes = "idOS transaction v1\n" +
		"Chain ID: idos-devnet\n" +
		"Action: kv.put\n" +
		"Nonce: 7\n" +
		"Payload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a"

	// Ed25519 key from the seed 0x01 0x02 ... 0x20.
	goldenEd25519Tx   = "f8a3018b69646f732d6465766e65748765643235353139a079b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad04966407866b762e707574a27b226b6579223a226772656574696e67222c2276616c7565223a2268656c6c6f227db8408ab3485cefa2cd28b28c54fbb4ede9c0641c650d6d32aba91352816259232d9d7dcae92bf31b5b91731c506aee78e699ef118d6a8c19fcea023489a0f459d104"
	goldenEd25519Hash = "42f00114939a5eb121f7a52041bff9e875a8bed6c44120f631c16fb536840f39"
	goldenEd25519ID   = "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"

	// secp256k1 key of the web3.js personal_sign example.
	goldenEIP191Key  = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	goldenEIP191Tx   = "f897018b69646f732d6465766e657486656970313931942c7536e3605d9c16a7a3d7b1898e529396a65c2307866b762e707574a27b226b6579223a226772656574696e67222c2276616c7565223a2268656c6c6f227db84110d4b33671a4764a9d8da9dec21c531935feaa8f0fcffec1e67a96d422e67ccb7bfdb6490b4940a6481326577ec834f8ddd0afaf16bc4b34a874620cdbf1d77b1b"
	goldenEIP191Hash = "3f23cfc78fd5bf8b3e5dde7c37ad6f3d5b6e82f5c2e743d979c83c9f02572333"
	goldenEIP191ID   = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
)

func ed25519Signer(t testing.TB) auth.Signer {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	return auth.NewEd25519Signer(ed25519.NewKeyFromSeed(seed))
}

func eip191Signer(t testing.TB) auth.Signer {
	t.Helper()
	key, err := crypto.HexToECDSA(goldenEIP191Key)
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewEIP191Signer(key)
}

func goldenUnsigned() *Tx {
	return &Tx{ChainID: goldenChainID, Nonce: goldenNonce, Action: goldenAction, Payload: []byte(goldenPayload)}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenVectors(t *testing.T) {
	tests := []struct {
		name           string
		signer         auth.Signer
		encoded, hash  string
		wantIdentifier string
	}{
		{"ed25519", ed25519Signer(t), goldenEd25519Tx, goldenEd25519Hash, goldenEd25519ID},
		{"eip191", eip191Signer(t), goldenEIP191Tx, goldenEIP191Hash, goldenEIP191ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Signing the fixed transaction reproduces the pinned bytes (both
			// schemes sign deterministically).
			tx := goldenUnsigned()
			if got := string(tx.SignBytes()); got != goldenSignBytes {
				t.Fatalf("SignBytes =\n%s\nwant\n%s", got, goldenSignBytes)
			}
			if err := Sign(tx, tt.signer); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			enc, err := tx.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got := hex.EncodeToString(enc); got != tt.encoded {
				t.Errorf("Encode =\n%s\nwant\n%s", got, tt.encoded)
			}

			// The pinned bytes decode, verify and hash as pinned.
			raw := mustHex(t, tt.encoded)
			dec, err := Decode(raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			id, err := dec.Verify(auth.DefaultRegistry())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id != tt.wantIdentifier {
				t.Errorf("identifier = %q, want %q", id, tt.wantIdentifier)
			}
			h := Hash(raw)
			if got := hex.EncodeToString(h[:]); got != tt.hash {
				t.Errorf("Hash = %s, want %s", got, tt.hash)
			}
			// Hash is CometBFT's transaction hash, so block explorers and
			// the /tx RPC agree with ours.
			if !bytes.Equal(h[:], cmttypes.Tx(raw).Hash()) {
				t.Errorf("Hash differs from CometBFT's %X", cmttypes.Tx(raw).Hash())
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		tx   Tx
	}{
		// The golden transaction, signed elsewhere; Decode does not verify.
		{"typical", Tx{ChainID: "idos-devnet", Scheme: "ed25519", Signer: bytes.Repeat([]byte{1}, 32), Nonce: 7, Action: "kv.put", Payload: []byte(`{}`), Signature: bytes.Repeat([]byte{2}, 64)}},
		// Zero nonce (RLP empty string) and empty payload are valid.
		{"first tx, empty payload", Tx{ChainID: "c", Scheme: "s", Signer: []byte{0}, Nonce: 0, Action: "a", Signature: []byte{0}}},
		// Single bytes below 0x80 are their own RLP encoding.
		{"single-byte fields", Tx{ChainID: "x", Scheme: "0", Signer: []byte{0x7f}, Nonce: 0x7f, Action: "a", Payload: []byte{0x00}, Signature: []byte{0x80}}},
		// Every field at its maximum length, exercising RLP long-form sizes.
		{"all limits", Tx{
			ChainID:   strings.Repeat("~", 50),
			Scheme:    strings.Repeat("z", 32),
			Signer:    bytes.Repeat([]byte{0xff}, 128),
			Nonce:     ^uint64(0),
			Action:    "a" + strings.Repeat(".b", 31) + "c",
			Payload:   bytes.Repeat([]byte{0xab}, MaxPayloadBytes),
			Signature: bytes.Repeat([]byte{0xcd}, 256),
		}},
		// Space and punctuation are printable ASCII.
		{"chain id punctuation", Tx{ChainID: "idos test-net_1.0 (a)", Scheme: "eip191", Signer: make([]byte, 20), Action: "x_1.y_2", Signature: make([]byte, 65)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tt.tx.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			dec, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !equalTx(dec, &tt.tx) {
				t.Errorf("Decode(Encode(tx)) = %+v, want %+v", dec, tt.tx)
			}
			if re, _ := dec.Encode(); !bytes.Equal(re, enc) {
				t.Errorf("re-encoding differs")
			}
		})
	}
}

// equalTx compares transactions, treating nil and empty byte slices alike
// (RLP does not distinguish them).
func equalTx(a, b *Tx) bool {
	return a.ChainID == b.ChainID && a.Scheme == b.Scheme && bytes.Equal(a.Signer, b.Signer) &&
		a.Nonce == b.Nonce && a.Action == b.Action && bytes.Equal(a.Payload, b.Payload) &&
		bytes.Equal(a.Signature, b.Signature)
}

// wire returns the RLP list of the valid golden ed25519 transaction as
// values that tests can replace one by one, bypassing Encode's validation.
func wire(t testing.TB) []any {
	t.Helper()
	tx, err := Decode(mustHex(t, goldenEd25519Tx))
	if err != nil {
		t.Fatal(err)
	}
	return []any{uint64(Version), tx.ChainID, tx.Scheme, tx.Signer, tx.Nonce, tx.Action, tx.Payload, tx.Signature}
}

// with returns the golden wire list encoded with field i replaced by v.
func with(t testing.TB, i int, v any) []byte {
	t.Helper()
	l := wire(t)
	l[i] = v
	return encodeList(t, l)
}

func encodeList(t testing.TB, l []any) []byte {
	t.Helper()
	b, err := rlp.EncodeToBytes(l)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Field positions in the wire list.
const (
	fVersion = iota
	fChainID
	fScheme
	fSigner
	fNonce
	fAction
	fPayload
	fSignature
)

func TestDecodeRejects(t *testing.T) {
	golden := mustHex(t, goldenEd25519Tx)
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		// --- RLP structure ---
		{"empty input", nil, ErrMalformed},
		// A byte string where the list should be.
		{"not a list", mustHex(t, "83616263"), ErrMalformed},
		// A valid transaction followed by anything is not a transaction.
		{"trailing byte", append(bytes.Clone(golden), 0x00), ErrMalformed},
		{"trailing tx", append(bytes.Clone(golden), golden...), ErrMalformed},
		// The list header claims more bytes than present.
		{"truncated", golden[:len(golden)-1], ErrMalformed},
		// Seven or nine elements: the list shape is fixed.
		{"missing field", encodeList(t, wire(t)[:7]), ErrMalformed},
		{"extra field", encodeList(t, append(wire(t), []byte{1})), ErrMalformed},
		// A list where a byte string belongs.
		{"list as signer", with(t, fSigner, []any{[]byte{1}}), ErrMalformed},
		// Non-canonical RLP: each would give one transaction several
		// encodings and hashes.
		// Integer with a leading zero byte (7 as 0x82 0x00 0x07).
		{"nonce leading zero", with(t, fNonce, rlp.RawValue{0x82, 0x00, 0x07}), ErrMalformed},
		// Integer 0 as 0x00 instead of the empty string 0x80.
		{"nonce zero as 0x00", with(t, fNonce, rlp.RawValue{0x00}), ErrMalformed},
		// A single byte below 0x80 wrapped in a one-byte string header.
		{"single byte with header", with(t, fPayload, rlp.RawValue{0x81, 0x05}), ErrMalformed},
		// Long-form size for a short string.
		{"long form for short string", with(t, fAction, append(rlp.RawValue{0xb8, 0x06}, "kv.put"...)), ErrMalformed},
		// Integer wider than 64 bits.
		{"nonce overflows uint64", with(t, fNonce, rlp.RawValue{0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0}), ErrMalformed},

		// --- version ---
		{"version 0", with(t, fVersion, uint64(0)), ErrMalformed},
		{"version 2", with(t, fVersion, uint64(2)), ErrMalformed},

		// --- size ---
		// Anything over MaxTxBytes is refused before parsing.
		{"over MaxTxBytes", make([]byte, MaxTxBytes+1), ErrTooLarge},
		{"payload over MaxPayloadBytes", with(t, fPayload, make([]byte, MaxPayloadBytes+1)), ErrTooLarge},

		// --- chain ID: 1-50 bytes of printable ASCII ---
		{"chain id empty", with(t, fChainID, ""), ErrMalformed},
		{"chain id 51 bytes", with(t, fChainID, strings.Repeat("a", 51)), ErrMalformed},
		// A newline would let the chain ID forge extra sign-bytes lines.
		{"chain id newline", with(t, fChainID, "idos\nAction: x"), ErrMalformed},
		{"chain id tab", with(t, fChainID, "idos\t"), ErrMalformed},
		{"chain id DEL", with(t, fChainID, "idos\x7f"), ErrMalformed},
		// Non-ASCII look-alikes ("о" is Cyrillic).
		{"chain id non-ASCII", with(t, fChainID, "idоs-devnet"), ErrMalformed},

		// --- scheme: 1-32 bytes of [a-z0-9_] ---
		{"scheme empty", with(t, fScheme, ""), ErrMalformed},
		{"scheme 33 bytes", with(t, fScheme, strings.Repeat("a", 33)), ErrMalformed},
		{"scheme uppercase", with(t, fScheme, "Ed25519"), ErrMalformed},
		{"scheme dash", with(t, fScheme, "ed-25519"), ErrMalformed},

		// --- signer: 1-128 bytes ---
		{"signer empty", with(t, fSigner, []byte{}), ErrMalformed},
		{"signer 129 bytes", with(t, fSigner, make([]byte, 129)), ErrMalformed},

		// --- action: 1-64 bytes, dot-separated [a-z][a-z0-9_]* ---
		{"action empty", with(t, fAction, ""), ErrMalformed},
		{"action 65 bytes", with(t, fAction, strings.Repeat("a", 65)), ErrMalformed},
		{"action uppercase", with(t, fAction, "KV.put"), ErrMalformed},
		{"action segment starts with digit", with(t, fAction, "kv.1put"), ErrMalformed},
		{"action starts with underscore", with(t, fAction, "_kv"), ErrMalformed},
		{"action leading dot", with(t, fAction, ".kv"), ErrMalformed},
		{"action trailing dot", with(t, fAction, "kv."), ErrMalformed},
		{"action double dot", with(t, fAction, "kv..put"), ErrMalformed},
		{"action dash", with(t, fAction, "kv.put-all"), ErrMalformed},
		{"action space", with(t, fAction, "kv put"), ErrMalformed},
		{"action newline", with(t, fAction, "kv.put\n"), ErrMalformed},

		// --- signature: 1-256 bytes ---
		{"signature empty", with(t, fSignature, []byte{}), ErrMalformed},
		{"signature 257 bytes", with(t, fSignature, make([]byte, 257)), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := Decode(tt.input)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if tx != nil {
				t.Errorf("Decode returned a transaction with an error")
			}
		})
	}
}

// TestLimitsInclusive checks that each limit itself is allowed: the
// rejections above are off by exactly one.
func TestLimitsInclusive(t *testing.T) {
	tests := []struct {
		name  string
		field int
		value any
	}{
		{"chain id 50 bytes", fChainID, strings.Repeat("a", 50)},
		{"scheme 32 bytes", fScheme, strings.Repeat("a", 32)},
		{"signer 128 bytes", fSigner, make([]byte, 128)},
		{"action 64 bytes", fAction, strings.Repeat("a", 64)},
		{"payload MaxPayloadBytes", fPayload, make([]byte, MaxPayloadBytes)},
		{"payload empty", fPayload, []byte{}},
		{"signature 256 bytes", fSignature, make([]byte, 256)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(with(t, tt.field, tt.value)); err != nil {
				t.Fatalf("Decode: %v", err)
			}
		})
	}
}

func TestEncodeValidates(t *testing.T) {
	valid := func() *Tx {
		tx, err := Decode(mustHex(t, goldenEd25519Tx))
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	tests := []struct {
		name   string
		mutate func(*Tx)
		want   error
	}{
		// Encode applies the same rules as Decode, so it can never produce
		// bytes the network rejects.
		{"unsigned", func(tx *Tx) { tx.Signature = nil }, ErrMalformed},
		{"bad action", func(tx *Tx) { tx.Action = "Put" }, ErrMalformed},
		{"bad chain id", func(tx *Tx) { tx.ChainID = "" }, ErrMalformed},
		{"payload too large", func(tx *Tx) { tx.Payload = make([]byte, MaxPayloadBytes+1) }, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := valid()
			tt.mutate(tx)
			if _, err := tx.Encode(); !errors.Is(err, tt.want) {
				t.Fatalf("Encode error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	reg := auth.DefaultRegistry()
	signed := func(s auth.Signer) *Tx {
		tx := goldenUnsigned()
		if err := Sign(tx, s); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	tests := []struct {
		name   string
		tx     *Tx
		mutate func(*Tx)
		want   error
	}{
		// Changing any signed field invalidates the signature.
		{"other chain", signed(ed25519Signer(t)), func(tx *Tx) { tx.ChainID = "idos-mainnet" }, auth.ErrInvalidSignature},
		{"other nonce", signed(ed25519Signer(t)), func(tx *Tx) { tx.Nonce++ }, auth.ErrInvalidSignature},
		{"other action", signed(eip191Signer(t)), func(tx *Tx) { tx.Action = "kv.delete" }, auth.ErrInvalidSignature},
		{"other payload", signed(eip191Signer(t)), func(tx *Tx) { tx.Payload = []byte(`{}`) }, auth.ErrInvalidSignature},
		// Claiming another signer.
		{"other signer", signed(eip191Signer(t)), func(tx *Tx) { tx.Signer = make([]byte, 20) }, auth.ErrInvalidSignature},
		// The signer bytes must fit the named scheme.
		{"scheme/signer mismatch", signed(ed25519Signer(t)), func(tx *Tx) { tx.Scheme = auth.SchemeEIP191 }, auth.ErrInvalidSigner},
		// A well-formed but unregistered scheme.
		{"unknown scheme", signed(ed25519Signer(t)), func(tx *Tx) { tx.Scheme = "secp256r1" }, auth.ErrUnknownScheme},
		// Field rules are checked before the signature.
		{"malformed", signed(ed25519Signer(t)), func(tx *Tx) { tx.Action = "" }, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.tx.Verify(reg); err != nil {
				t.Fatalf("unmodified tx does not verify: %v", err)
			}
			tt.mutate(tt.tx)
			id, err := tt.tx.Verify(reg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if id != "" {
				t.Errorf("identifier %q returned with an error", id)
			}
		})
	}
}

func TestSignRejectsMalformed(t *testing.T) {
	// Sign refuses to produce a signature over fields Encode would reject,
	// e.g. an action that would inject a line into the sign bytes.
	tx := goldenUnsigned()
	tx.Action = "kv.put\nNonce: 0"
	if err := Sign(tx, ed25519Signer(t)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Sign error = %v, want ErrMalformed", err)
	}
	if tx.Signature != nil {
		t.Errorf("signature set despite error")
	}
}

func TestSignBytesFormat(t *testing.T) {
	// Nonce is decimal without padding; the empty payload hashes to
	// SHA-256("").
	got := string(SignBytes("c", "a.b", 18446744073709551615, nil))
	want := "idOS transaction v1\nChain ID: c\nAction: a.b\nNonce: 18446744073709551615\n" +
		"Payload SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got != want {
		t.Errorf("SignBytes =\n%s\nwant\n%s", got, want)
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts is
// canonical: re-encoding yields the input bytes exactly.
func FuzzDecode(f *testing.F) {
	f.Add(mustHex(f, goldenEd25519Tx))
	f.Add(mustHex(f, goldenEIP191Tx))
	f.Add([]byte{})
	f.Add([]byte{0xc0})
	f.Add([]byte{0xf8, 0xff, 0x01})
	f.Add(mustHex(f, "c9018161816181618080"))
	f.Add([]byte("idOS transaction v1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		enc, err := tx.Encode()
		if err != nil {
			t.Fatalf("decoded tx does not encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("non-canonical input accepted:\n in  %x\n out %x", b, enc)
		}
		tx2, err := Decode(enc)
		if err != nil || !equalTx(tx, tx2) {
			t.Fatalf("decode of re-encoding differs: %v", err)
		}
	})
}
