// Generates vectors.json for the stellar and stellar_sep53 plugins with
// Stellar's own JavaScript library (exact versions in package.json /
// package-lock.json):
//
//	cd sigplugins/stellar/testdata && npm ci && node gen.mjs > vectors.json && rm -rf node_modules
//
// Keys are @stellar/stellar-base Keypairs from fixed seeds; signatures come
// from Keypair.sign. stellar-base 15.0.0 has no SEP-53 helper, so the SEP-53
// cases sign SHA-256("Stellar Signed Message:\n" || message) with
// Keypair.sign, exactly as SEP-53's reference pseudo-code does, and the
// script first reproduces SEP-53's own three test vectors that way. Every
// case's expected status is checked against Keypair.verify before it is
// written, and every identifier against StrKey.encodeEd25519PublicKey.
// Output is deterministic.

import { createHash } from "node:crypto";
import { Keypair, StrKey } from "@stellar/stellar-base";

const hex = (b) => Buffer.from(b).toString("hex");
const utf8 = (s) => Buffer.from(s, "utf8");
const concat = (...xs) => Buffer.concat(xs.map((x) => Buffer.from(x)));
const sha256 = (b) => createHash("sha256").update(b).digest();

const PREFIX = utf8("Stellar Signed Message:\n");
// signedBytes is what each scheme signs for a message.
const signedBytes = { stellar: (m) => m, stellar_sep53: (m) => sha256(concat(PREFIX, m)) };

// The idOS transaction of docs/spec/transactions.md, "Test vectors".
const SIGN_BYTES = utf8(
  "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\n" +
    "Payload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a",
);

// SEP-53 "Test cases" (stellar-protocol ecosystem/sep-0053.md, v1.0.0).
const SEP53 = {
  seed: "SAKICEVQLYWGSOJS4WW7HZJWAHZVEEBS527LHK5V4MLJALYKICQCJXMW",
  address: "GBXFXNDLV4LSWA4VB7YIL5GBD7BVNR22SGBTDKMO2SBZZHDXSKZYCP7L",
  vectors: [
    ["SEP-53 test case 1 (ASCII)", utf8("Hello, World!"),
      "7cee5d6d885752104c85eea421dfdcb95abf01f1271d11c4bec3fcbd7874dccd6e2e98b97b8eb23b643cac4073bb77de5d07b0710139180ae9f3cbba78f2ba04"],
    ["SEP-53 test case 2 (Japanese)", utf8("こんにちは、世界！"),
      "083536eb95ecf32dce59b07fe7a1fd8cf814b2ce46f40d2a16e4ea1f6cecd980e04e6fbef9d21f98011c785a81edb85f3776a6e7d942b435eb0adc07da4d4604"],
    ["SEP-53 test case 3 (binary)", Buffer.from("2zZDP1sa1BVBfLP7TeeMk3sUbaxAkUhBhDiNdrksaFo=", "base64"),
      "540d7eee179f370bf634a49c1fa9fe4a58e3d7990b0207be336c04edfcc539ff8bd0c31bb2c0359b07c9651cb2ae104e4504657b5d17d43c69c7e50e23811b0d"],
  ],
};
// SEP-23 "Valid test cases" 1 (stellar-protocol ecosystem/sep-0023.md).
const SEP23 = { key: "3f0c34bf93ad0d9971d04ccc90f705511c838aad9734a4a2fb0d7a03fc7fe89a", address: "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ" };

const kpA = Keypair.fromSecret(SEP53.seed);
if (kpA.publicKey() !== SEP53.address) throw new Error("SEP-53 address not reproduced");
// Key B: the RFC 8032 seed 0x01..0x20 of the node's ed25519 vector.
const kpB = Keypair.fromRawEd25519Seed(Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1)));
if (hex(kpB.rawPublicKey()) !== "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664") throw new Error("key B");
if (StrKey.encodeEd25519PublicKey(Buffer.from(SEP23.key, "hex")) !== SEP23.address) throw new Error("SEP-23 vector not reproduced");

const sign = (scheme, kp, msg) => kp.sign(signedBytes[scheme](msg));

const cases = [];
function add(scheme, name, { signer, msg, sig, status, source }) {
  let libValid = false;
  if (signer.length === 32) {
    try {
      libValid = Keypair.fromPublicKey(StrKey.encodeEd25519PublicKey(signer)).verify(signedBytes[scheme](msg), sig);
    } catch {
      libValid = false;
    }
  }
  if (libValid !== (status === 0)) throw new Error(`${scheme} ${name}: expected status ${status}, Keypair.verify says ${libValid}`);
  const c = { name, scheme, signer: hex(signer), msg: hex(msg), sig: hex(sig), status };
  if (status === 0) c.identifier = StrKey.encodeEd25519PublicKey(signer);
  c.source = source;
  cases.push(c);
}

const lib = "@stellar/stellar-base@15.0.0 Keypair.sign";
const pubA = kpA.rawPublicKey();
const pubB = kpB.rawPublicKey();
const altered = utf8(SIGN_BYTES.toString().replace("Nonce: 7", "Nonce: 8"));
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
function sPlusL(sig) {
  const s = BigInt("0x" + hex(Buffer.from(sig.subarray(32)).reverse())) + L;
  return concat(sig.subarray(0, 32), Buffer.from(s.toString(16).padStart(64, "0"), "hex").reverse());
}

for (const [name, msg, want] of SEP53.vectors) {
  const sig = sign("stellar_sep53", kpA, msg);
  if (hex(sig) !== want) throw new Error(`${name} not reproduced`);
  add("stellar_sep53", name, { signer: pubA, msg, sig, status: 0, source: "SEP-53 v1.0.0 test cases" });
}

for (const scheme of ["stellar", "stellar_sep53"]) {
  const other = scheme === "stellar" ? "stellar_sep53" : "stellar";
  const sigA = sign(scheme, kpA, SIGN_BYTES);
  add(scheme, "sign bytes, SEP-53 test key", { signer: pubA, msg: SIGN_BYTES, sig: sigA, status: 0, source: lib });
  add(scheme, "sign bytes, RFC 8032 seed 01..20", { signer: pubB, msg: SIGN_BYTES, sig: sign(scheme, kpB, SIGN_BYTES), status: 0, source: lib });
  add(scheme, "empty message", { signer: pubB, msg: Buffer.alloc(0), sig: sign(scheme, kpB, Buffer.alloc(0)), status: 0, source: lib });
  add(scheme, "altered message (nonce 8)", { signer: pubA, msg: altered, sig: sigA, status: 1, source: lib });
  const flipped = Buffer.from(sigA);
  flipped[40] ^= 0x04;
  add(scheme, "altered signature", { signer: pubA, msg: SIGN_BYTES, sig: flipped, status: 1, source: lib });
  add(scheme, "wrong key", { signer: pubB, msg: SIGN_BYTES, sig: sigA, status: 1, source: lib });
  add(scheme, `signed as ${other} (wrong prefix)`, { signer: pubA, msg: SIGN_BYTES, sig: sign(other, kpA, SIGN_BYTES), status: 1, source: lib });
  add(scheme, "S + L (non-canonical scalar)", { signer: pubA, msg: SIGN_BYTES, sig: sPlusL(sigA), status: 1, source: lib });
  add(scheme, "signature 63 bytes", { signer: pubA, msg: SIGN_BYTES, sig: sigA.subarray(0, 63), status: 1, source: lib });
  add(scheme, "signer 31 bytes", { signer: pubA.subarray(0, 31), msg: SIGN_BYTES, sig: sigA, status: 2, source: lib });
  add(scheme, "signer as the G-address text", { signer: utf8(kpA.publicKey()), msg: SIGN_BYTES, sig: sigA, status: 2, source: lib });
}
add("stellar_sep53", "SHA-256 of the message without the prefix", {
  signer: pubA, msg: SIGN_BYTES, sig: kpA.sign(sha256(SIGN_BYTES)), status: 1, source: lib,
});
add("stellar_sep53", "prefix || message signed without hashing", {
  signer: pubA, msg: SIGN_BYTES, sig: kpA.sign(concat(PREFIX, SIGN_BYTES)), status: 1, source: lib,
});

const addresses = [
  { name: "SEP-23 valid test case 1", public_key: SEP23.key, address: SEP23.address },
  { name: "SEP-53 test key", public_key: hex(pubA), address: StrKey.encodeEd25519PublicKey(pubA) },
  { name: "RFC 8032 seed 01..20", public_key: hex(pubB), address: StrKey.encodeEd25519PublicKey(pubB) },
  { name: "all zero", public_key: "00".repeat(32), address: StrKey.encodeEd25519PublicKey(Buffer.alloc(32)) },
  { name: "all 0xff", public_key: "ff".repeat(32), address: StrKey.encodeEd25519PublicKey(Buffer.alloc(32, 0xff)) },
];

console.log(
  JSON.stringify(
    { generator: "sigplugins/stellar/testdata/gen.mjs", packages: { "@stellar/stellar-base": "15.0.0" }, cases, addresses },
    null,
    2,
  ),
);
