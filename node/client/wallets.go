package client

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/mr-tron/base58"
	//lint:ignore SA1019 RIPEMD-160 is what XRPL and Cosmos addresses are made of.
	"golang.org/x/crypto/ripemd160"

	"github.com/idos-network/idos-node/node/auth"
)

// What each scheme's wallet signs, for External. The rules are those of
// docs/spec/transactions.md (ed25519, eip191) and docs/spec/schemes.md (the
// plugins); TestWalletFormatsShippedVectors checks every shipped plugin
// vector against them: the identifier derived here, the signature's form,
// and that the signature verifies over KeySigns. A scheme not listed here
// (a plugin activated later) is handled generically: hex signer, given
// identifier, the message shown as it is.

// SignRequest is what a wallet is asked to sign.
type SignRequest struct {
	Scheme  string `json:"scheme"`
	Account string `json:"account"`
	// Message is the idOS text (a transaction's sign bytes, a read
	// challenge, a wallet link message); MessageHex its bytes.
	Message    string `json:"message"`
	MessageHex string `json:"message_hex"`
	// Wallet names the wallet call that signs it as the scheme expects,
	// and Params are that call's arguments.
	Wallet string  `json:"wallet"`
	Params []Param `json:"params"`
	// KeySigns (hex) is what a bare private key signs, by KeyAlgorithm,
	// for signers that take raw bytes (openssl, a hardware signer's raw
	// mode): the scheme's prefixing and hashing already applied.
	KeySigns     string `json:"key_signs_hex"`
	KeyAlgorithm string `json:"key_algorithm"`
	// Answer says what to give back.
	Answer string `json:"answer"`
}

// Param is one argument of the wallet call.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Text is the request as a person reads it.
func (r *SignRequest) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Sign with %s (%s)\n", r.Account, r.Wallet)
	for _, p := range r.Params {
		if strings.Contains(p.Value, "\n") {
			fmt.Fprintf(&b, "%s:\n-----BEGIN %s-----\n%s\n-----END %s-----\n", p.Name, strings.ToUpper(p.Name), p.Value, strings.ToUpper(p.Name))
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", p.Name, p.Value)
	}
	fmt.Fprintf(&b, "key signs (%s): %s\nanswer: %s\n", r.KeyAlgorithm, r.KeySigns, r.Answer)
	return b.String()
}

type walletFormat struct {
	name string
	// parseSigner reads the public key or address as wallets write it.
	parseSigner func(string) ([]byte, error)
	// identifier derives the node's identifier; nil: not known here.
	identifier func([]byte) (string, error)
	// wallet, params, keySigns and algo build the request.
	wallet   string
	params   func(signer []byte, id string, msg []byte) []Param
	keySigns func(signer []byte, id string, msg []byte) []byte
	algo     func(signer []byte) string
	answer   string
	// encodings are tried in order on an answer; the first that decodes
	// to a signature check accepts wins.
	encodings []string
	check     func(signer, sig []byte) error
}

func (f *walletFormat) request(signer []byte, id string, msg []byte) *SignRequest {
	return &SignRequest{
		Scheme: f.name, Account: f.name + ":" + id, Message: string(msg), MessageHex: hex.EncodeToString(msg),
		Wallet: f.wallet, Params: f.params(signer, id, msg),
		KeySigns: hex.EncodeToString(f.keySigns(signer, id, msg)), KeyAlgorithm: f.algo(signer), Answer: f.answer,
	}
}

const (
	encHex    = "hex"
	encBase64 = "base64"
	encBase58 = "base58"
)

// NEP413Recipient and NEP413Tag are the nep413 plugin's fixed recipient and
// borsh prefix (docs/spec/schemes.md).
const (
	NEP413Recipient        = "idos.network"
	NEP413Tag       uint32 = 1<<31 + 413
)

var formats = map[string]*walletFormat{}

func register(f *walletFormat) { formats[f.name] = f }

// KnownWalletSchemes are the schemes whose wallets this client knows.
func KnownWalletSchemes() []string {
	return []string{"adr036", "bip137", auth.SchemeEd25519, auth.SchemeEIP191, "eip191_wasm", "eip712", "nep413",
		"solana", "stellar", "stellar_sep53", "xrpl"}
}

func formatOf(scheme string) *walletFormat {
	if f, ok := formats[scheme]; ok {
		return f
	}
	return &walletFormat{
		name: scheme, parseSigner: parseHexSigner,
		wallet: "a " + scheme + " wallet (a scheme this client does not know: sign the message as the scheme specifies)",
		params: func(_ []byte, _ string, msg []byte) []Param {
			return []Param{{"message", string(msg)}, {"message_hex", hex.EncodeToString(msg)}}
		},
		keySigns:  func(_ []byte, _ string, msg []byte) []byte { return msg },
		algo:      func([]byte) string { return "as the scheme specifies, over the message" },
		answer:    "the signature the scheme expects, hex or base64",
		encodings: []string{encHex, encBase64},
		check: func(_, sig []byte) error {
			if len(sig) < 1 || len(sig) > 256 {
				return fmt.Errorf("a signature is 1 to 256 bytes, got %d", len(sig))
			}
			return nil
		},
	}
}

func message(_ []byte, _ string, msg []byte) []Param { return []Param{{"message", string(msg)}} }
func raw(_ []byte, _ string, msg []byte) []byte      { return msg }
func algoIs(s string) func([]byte) string            { return func([]byte) string { return s } }

func init() {
	ed := func(name, wallet string, parse func(string) ([]byte, error), id func([]byte) (string, error), keySigns func([]byte, string, []byte) []byte, encodings ...string) {
		register(&walletFormat{name: name, parseSigner: parse, identifier: id, wallet: wallet, params: message,
			keySigns: keySigns, algo: algoIs("Ed25519"), answer: "the 64-byte Ed25519 signature (" + strings.Join(encodings, ", ") + ")",
			encodings: encodings, check: checkLen(64)})
	}
	ed(auth.SchemeEd25519, "any Ed25519 signer, over the message as it is", hexBytes(32), hexID, raw, encHex, encBase64)
	ed("solana", "signMessage (Phantom, Solflare, the wallet adapter) of the message's UTF-8 bytes",
		parseBase58Key, func(k []byte) (string, error) { return base58.Encode(k), nil }, raw, encBase58, encBase64, encHex)
	ed("stellar", "Keypair.sign(data) of the Stellar SDKs (raw), data = the message's bytes",
		parseStellarKey, stellarAddress, raw, encBase64, encHex)
	ed("stellar_sep53", "signMessage (SEP-53) of a Stellar wallet", parseStellarKey, stellarAddress,
		func(_ []byte, _ string, msg []byte) []byte {
			h := sha256.Sum256(append([]byte("Stellar Signed Message:\n"), msg...))
			return h[:]
		}, encBase64, encHex)

	eth := func(name, wallet string, params func([]byte, string, []byte) []Param, digest func([]byte) []byte) {
		register(&walletFormat{name: name, parseSigner: parseEthAddress,
			identifier: func(a []byte) (string, error) { return common.BytesToAddress(a).Hex(), nil },
			wallet:     wallet, params: params,
			keySigns:  func(_ []byte, _ string, msg []byte) []byte { return digest(msg) },
			algo:      algoIs("secp256k1 ECDSA, recoverable, over key_signs (a 32-byte digest); answer r‖s‖v"),
			answer:    "the 65-byte signature r‖s‖v, 0x-hex as the wallet returns it",
			encodings: []string{encHex, encBase64}, check: checkEth})
	}
	personal := func(msg []byte) []byte {
		return crypto.Keccak256([]byte("\x19Ethereum Signed Message:\n"+strconv.Itoa(len(msg))), msg)
	}
	eth(auth.SchemeEIP191, "personal_sign (MetaMask; signMessage in ethers, viem)", message, personal)
	eth("eip191_wasm", "personal_sign (MetaMask; signMessage in ethers, viem)", message, personal)
	eth("eip712", "eth_signTypedData_v4 of the typed data", func(_ []byte, _ string, msg []byte) []Param {
		return []Param{{"typed_data", eip712TypedData(msg)}}
	}, eip712Digest)

	register(&walletFormat{name: "nep413", parseSigner: parseNEARKey, identifier: hexID,
		wallet: "signMessage (NEP-413) of a NEAR wallet",
		params: func(_ []byte, _ string, msg []byte) []Param {
			n := sha256.Sum256(msg)
			return []Param{{"message", string(msg)}, {"nonce", base64.StdEncoding.EncodeToString(n[:])},
				{"nonce_hex", hex.EncodeToString(n[:])}, {"recipient", NEP413Recipient}}
		},
		keySigns: func(_ []byte, _ string, msg []byte) []byte {
			h := NEP413Hash(msg, nil)
			return h[:]
		},
		algo:      algoIs("Ed25519 over key_signs: SHA-256 of the NEP-413 borsh payload, no callbackUrl"),
		answer:    "the signature, base64 as the wallet returns it (or the wallet's whole JSON answer)",
		encodings: []string{encBase64, encHex}, check: checkNEP413})

	register(&walletFormat{name: "xrpl", parseSigner: parseXRPLKey, identifier: xrplAddress,
		wallet: "sign(messageHex, privateKey) of ripple-keypairs (xrpl.js)",
		params: func(_ []byte, _ string, msg []byte) []Param {
			return []Param{{"message", string(msg)}, {"message_hex", strings.ToUpper(hex.EncodeToString(msg))}}
		},
		keySigns: func(k []byte, _ string, msg []byte) []byte {
			if k[0] == 0xED {
				return msg
			}
			h := sha512.Sum512(msg)
			return h[:32]
		},
		algo: func(k []byte) string {
			if k[0] == 0xED {
				return "Ed25519 over key_signs (the message)"
			}
			return "secp256k1 ECDSA over key_signs (SHA-512Half of the message), DER, low S"
		},
		answer:    "the signature, hex as sign() returns it",
		encodings: []string{encHex, encBase64}, check: checkXRPL})

	register(&walletFormat{name: "bip137", parseSigner: parseBitcoinAddress,
		identifier: func(a []byte) (string, error) {
			if s := strings.ToLower(string(a)); strings.HasPrefix(s, "bc1") {
				return s, nil
			}
			return string(a), nil
		},
		wallet: "Sign message (Bitcoin Core signmessage, Electrum, Sparrow, hardware wallets)",
		params: func(a []byte, _ string, msg []byte) []Param {
			return []Param{{"address", string(a)}, {"message", string(msg)}}
		},
		keySigns:  func(_ []byte, _ string, msg []byte) []byte { return bitcoinDigest(msg) },
		algo:      algoIs("secp256k1 ECDSA, recoverable, over key_signs; answer header‖r‖s (BIP-137)"),
		answer:    "the 65-byte signature, base64 as the wallet prints it",
		encodings: []string{encBase64, encHex}, check: checkBIP137})

	register(&walletFormat{name: "adr036", parseSigner: parseCompressedKey, identifier: cosmosAddress,
		wallet: "signArbitrary(chainId, signer, data) of Keplr (ADR-036; CosmJS signAmino of the same document)",
		params: func(_ []byte, id string, msg []byte) []Param {
			return []Param{{"signer", id}, {"data", string(msg)}}
		},
		keySigns: func(_ []byte, id string, msg []byte) []byte {
			h := sha256.Sum256([]byte(adr036Doc(id, msg)))
			return h[:]
		},
		algo:      algoIs("secp256k1 ECDSA over key_signs (SHA-256 of the ADR-036 sign document), r‖s, low S"),
		answer:    "the 64-byte signature, base64 (Keplr's signature field)",
		encodings: []string{encBase64, encHex}, check: checkRS64})
}

// ParseSignature decodes a wallet's answer for scheme and checks its form.
// An answer may be hex (0x optional), base64 or base58 (the scheme's
// encodings are tried in order; "hex:", "base64:" or "base58:" forces one),
// or a JSON object with a "signature" member (what NEAR wallets return; its
// "publicKey", if any, must be the signer's).
func ParseSignature(scheme string, signer []byte, answer string) ([]byte, error) {
	f := formatOf(scheme)
	s := strings.TrimSpace(answer)
	if s == "" {
		return nil, fmt.Errorf("%w: the answer is empty", ErrNoSignature)
	}
	if strings.HasPrefix(s, "{") {
		var j struct {
			Signature string `json:"signature"`
			PublicKey string `json:"publicKey"`
		}
		if err := json.Unmarshal([]byte(s), &j); err != nil || j.Signature == "" {
			return nil, fmt.Errorf("%w: a JSON answer must be an object with a \"signature\" string", ErrMalformedSignature)
		}
		if j.PublicKey != "" {
			if k, err := f.parseSigner(j.PublicKey); err != nil || string(k) != string(signer) {
				return nil, fmt.Errorf("%w: the wallet signed with %s, not the signer given", ErrMalformedSignature, j.PublicKey)
			}
		}
		s = j.Signature
	}
	encodings := f.encodings
	for _, e := range []string{encHex, encBase64, encBase58} {
		if rest, ok := strings.CutPrefix(s, e+":"); ok {
			s, encodings = rest, []string{e}
		}
	}
	var firstErr error
	for _, e := range encodings {
		sig, ok := decode(e, s)
		if !ok {
			continue
		}
		err := f.check(signer, sig)
		if err == nil {
			return sig, nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("%w: %s signature (%s, %d bytes): %w", ErrMalformedSignature, scheme, e, len(sig), err)
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("%w: %s signature is not %s", ErrMalformedSignature, scheme, strings.Join(encodings, " or "))
}

func decode(enc, s string) ([]byte, bool) {
	switch enc {
	case encHex:
		b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
		return b, err == nil
	case encBase64:
		for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := e.DecodeString(s); err == nil {
				return b, true
			}
		}
	case encBase58:
		b, err := base58.Decode(s)
		return b, err == nil && len(b) > 0
	}
	return nil, false
}

// NEP413Hash is SHA-256(borsh(NEP413Tag) || borsh({message, nonce =
// SHA-256(message), recipient = NEP413Recipient, callbackUrl})), what a
// NEAR key signs for the nep413 scheme.
func NEP413Hash(msg []byte, callbackURL *string) [32]byte {
	str := func(b, s []byte) []byte { return append(binary.LittleEndian.AppendUint32(b, uint32(len(s))), s...) }
	nonce := sha256.Sum256(msg)
	b := binary.LittleEndian.AppendUint32(nil, NEP413Tag)
	b = str(b, msg)
	b = append(b, nonce[:]...)
	b = str(b, []byte(NEP413Recipient))
	if callbackURL == nil {
		b = append(b, 0)
	} else {
		b = str(append(b, 1), []byte(*callbackURL))
	}
	return sha256.Sum256(b)
}

func eip712TypedData(msg []byte) string {
	text, _ := json.Marshal(string(msg))
	return `{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"}],` +
		`"IdosTransaction":[{"name":"text","type":"string"}]},"primaryType":"IdosTransaction",` +
		`"domain":{"name":"idOS","version":"1"},"message":{"text":` + string(text) + `}}`
}

func eip712Digest(msg []byte) []byte {
	k := crypto.Keccak256
	domain := k(k([]byte("EIP712Domain(string name,string version)")), k([]byte("idOS")), k([]byte("1")))
	st := k(k([]byte("IdosTransaction(string text)")), k(msg))
	return k([]byte{0x19, 0x01}, domain, st)
}

func bitcoinDigest(msg []byte) []byte {
	b := append([]byte{0x18}, "Bitcoin Signed Message:\n"...)
	switch n := len(msg); {
	case n < 0xfd:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(n))
	default:
		b = binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(n))
	}
	first := sha256.Sum256(append(b, msg...))
	second := sha256.Sum256(first[:])
	return second[:]
}

func adr036Doc(address string, msg []byte) string {
	return `{"account_number":"0","chain_id":"","fee":{"amount":[],"gas":"0"},"memo":"","msgs":[{"type":"sign/MsgSignData","value":{"data":"` +
		base64.StdEncoding.EncodeToString(msg) + `","signer":"` + address + `"}}],"sequence":"0"}`
}

// Signers.

func parseHexSigner(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	switch {
	case err != nil:
		return nil, errors.New("want the signer bytes in hex")
	case len(b) < 1 || len(b) > 128:
		return nil, fmt.Errorf("a signer is 1 to 128 bytes, got %d", len(b))
	}
	return b, nil
}

func hexBytes(n int) func(string) ([]byte, error) {
	return func(s string) ([]byte, error) {
		b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "0x"))
		if err != nil || len(b) != n {
			return nil, fmt.Errorf("want %d bytes in hex", n)
		}
		return b, nil
	}
}

func hexID(k []byte) (string, error) { return hex.EncodeToString(k), nil }

func parseEthAddress(s string) ([]byte, error) {
	if !common.IsHexAddress(s) {
		return nil, errors.New("want a 0x-prefixed 20-byte address")
	}
	return common.HexToAddress(s).Bytes(), nil
}

func parseBase58Key(s string) ([]byte, error) {
	if b, err := hexBytes(32)(s); err == nil && len(s) == 64 {
		return b, nil
	}
	b, err := base58.Decode(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return nil, errors.New("want a base58 32-byte public key (the address)")
	}
	return b, nil
}

func parseNEARKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "ed25519:"); ok {
		s = rest
	} else if strings.Contains(s, ":") {
		return nil, errors.New("want an ed25519:BASE58 public key (NEP-413 signs with Ed25519 keys)")
	}
	b, err := parseBase58Key(s)
	if err != nil {
		return nil, errors.New("want an ed25519:BASE58 public key, or its 64 hex (the implicit account id)")
	}
	return b, nil
}

func parseXRPLKey(s string) ([]byte, error) {
	b, err := hexBytes(33)(s)
	if err != nil || (b[0] != 0x02 && b[0] != 0x03 && b[0] != 0xED) {
		return nil, errors.New("want the 33-byte public key in hex (02/03 secp256k1 or ED Ed25519), as ripple-keypairs gives it")
	}
	return b, nil
}

func parseCompressedKey(s string) ([]byte, error) {
	b, err := hexBytes(33)(s)
	if err != nil {
		b, err = base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	}
	if err != nil || len(b) != 33 || (b[0] != 0x02 && b[0] != 0x03) {
		return nil, errors.New("want the 33-byte compressed secp256k1 public key, hex or base64 (the wallet's pub_key.value)")
	}
	return b, nil
}

func parseBitcoinAddress(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) < 26 || len(s) > 90 {
		return nil, errors.New("want a Bitcoin mainnet address (1..., 3... or bc1q...)")
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return nil, errors.New("want a Bitcoin mainnet address (1..., 3... or bc1q...)")
		}
	}
	return []byte(s), nil
}

var xrplAlphabet = base58.NewAlphabet("rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz")

func hash160(b []byte) []byte {
	s := sha256.Sum256(b)
	h := ripemd160.New()
	h.Write(s[:])
	return h.Sum(nil)
}

func xrplAddress(k []byte) (string, error) {
	b := append([]byte{0x00}, hash160(k)...)
	c1 := sha256.Sum256(b)
	c2 := sha256.Sum256(c1[:])
	return base58.FastBase58EncodingAlphabet(append(b, c2[:4]...), xrplAlphabet), nil
}

// Stellar strkeys (SEP-23): base32 of version ‖ key ‖ CRC16-XModem (LE).
const stellarAccountVersion = 6 << 3

func crc16XModem(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func stellarAddress(k []byte) (string, error) {
	b := append([]byte{stellarAccountVersion}, k...)
	b = binary.LittleEndian.AppendUint16(b, crc16XModem(b))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

func parseStellarKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hexBytes(32)(s); err == nil {
		return b, nil
	}
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil || len(b) != 35 || b[0] != stellarAccountVersion || binary.LittleEndian.Uint16(b[33:]) != crc16XModem(b[:33]) {
		return nil, errors.New("want a G... address (SEP-23) or the 32-byte key in hex")
	}
	return b[1:33], nil
}

func cosmosAddress(k []byte) (string, error) { return bech32Encode("cosmos", hash160(k)), nil }

// bech32Encode is BIP-173 bech32 of 8-bit data.
func bech32Encode(hrp string, data []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	var d []byte // 5-bit groups
	acc, bits := 0, 0
	for _, b := range data {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			d = append(d, byte(acc>>bits&31))
		}
	}
	if bits > 0 {
		d = append(d, byte(acc<<(5-bits)&31))
	}
	polymod := func(v []byte) uint32 {
		gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
		chk := uint32(1)
		for _, x := range v {
			top := chk >> 25
			chk = (chk&0x1ffffff)<<5 ^ uint32(x)
			for i := range 5 {
				if top>>i&1 == 1 {
					chk ^= gen[i]
				}
			}
		}
		return chk
	}
	var v []byte
	for _, c := range hrp {
		v = append(v, byte(c>>5))
	}
	v = append(v, 0)
	for _, c := range hrp {
		v = append(v, byte(c&31))
	}
	v = append(append(v, d...), 0, 0, 0, 0, 0, 0)
	mod := polymod(v) ^ 1
	for i := range 6 {
		d = append(d, byte(mod>>(5*(5-i))&31))
	}
	out := []byte(hrp + "1")
	for _, x := range d {
		out = append(out, charset[x])
	}
	return string(out)
}

// Signature forms.

var (
	secpN     = crypto.S256().Params().N
	secpHalfN = new(big.Int).Rsh(secpN, 1)
)

func checkLen(n int) func(_, sig []byte) error {
	return func(_, sig []byte) error {
		if len(sig) != n {
			return fmt.Errorf("want %d bytes", n)
		}
		return nil
	}
}

// checkRS checks r, s ∈ [1, n-1] and s ≤ n/2.
func checkRS(r, s []byte) error {
	R, S := new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)
	switch {
	case R.Sign() == 0 || R.Cmp(secpN) >= 0 || S.Sign() == 0:
		return errors.New("r or s out of range")
	case S.Cmp(secpHalfN) > 0:
		return errors.New("high S: the scheme accepts the low-S form only (wallets sign low S)")
	}
	return nil
}

func checkRS64(_, sig []byte) error {
	if len(sig) != 64 {
		return errors.New("want 64 bytes r‖s")
	}
	return checkRS(sig[:32], sig[32:])
}

func checkEth(_, sig []byte) error {
	if len(sig) != 65 {
		return errors.New("want 65 bytes r‖s‖v")
	}
	if v := sig[64]; v != 0 && v != 1 && v != 27 && v != 28 {
		return fmt.Errorf("v is %d; want 27, 28, 0 or 1", v)
	}
	return checkRS(sig[:32], sig[32:64])
}

func checkBIP137(_, sig []byte) error {
	if len(sig) != 65 {
		return errors.New("want 65 bytes header‖r‖s")
	}
	if h := sig[0]; h < 27 || h > 42 {
		return fmt.Errorf("header byte %d is not a BIP-137 header (27 to 42)", h)
	}
	return checkRS(sig[1:33], sig[33:])
}

func checkNEP413(_, sig []byte) error {
	if len(sig) < 64 {
		return errors.New("want the 64-byte signature, optionally followed by the signed callbackUrl")
	}
	if !utf8.Valid(sig[64:]) {
		return errors.New("the bytes after the 64-byte signature (the callbackUrl) are not UTF-8")
	}
	return nil
}

func checkXRPL(signer, sig []byte) error {
	if signer[0] == 0xED {
		return checkLen(64)(signer, sig)
	}
	r, s, err := parseCanonicalDER(sig)
	if err != nil {
		return err
	}
	return checkRS(r, s)
}

// parseCanonicalDER reads the strict DER form rippled calls fully
// canonical: 0x30 len 0x02 lenR R 0x02 lenS S, minimal positive integers,
// nothing after.
func parseCanonicalDER(sig []byte) (r, s []byte, err error) {
	if len(sig) < 8 || len(sig) > 72 || sig[0] != 0x30 || int(sig[1]) != len(sig)-2 {
		return nil, nil, errors.New("not a DER signature (0x30, length, two INTEGERs; 8 to 72 bytes)")
	}
	integer := func(b []byte) (v, rest []byte, err error) {
		if len(b) < 3 || b[0] != 0x02 || int(b[1]) < 1 || int(b[1]) > 33 || int(b[1]) > len(b)-2 {
			return nil, nil, errors.New("not a DER INTEGER")
		}
		v, rest = b[2:2+int(b[1])], b[2+int(b[1]):]
		switch {
		case v[0]&0x80 != 0:
			return nil, nil, errors.New("negative DER INTEGER")
		case v[0] == 0 && (len(v) == 1 || v[1]&0x80 == 0):
			return nil, nil, errors.New("DER INTEGER zero or not minimal")
		}
		return v, rest, nil
	}
	if r, rest, err := integer(sig[2:]); err != nil {
		return nil, nil, err
	} else if s, rest, err := integer(rest); err != nil {
		return nil, nil, err
	} else if len(rest) != 0 {
		return nil, nil, errors.New("bytes after the DER INTEGERs")
	} else {
		return r, s, nil
	}
}
