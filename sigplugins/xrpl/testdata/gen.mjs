// Generates vectors.json for the xrpl plugin with the XRP Ledger's own
// JavaScript libraries (exact versions in package.json / package-lock.json):
//
//	cd sigplugins/xrpl/testdata && npm ci && node gen.mjs > vectors.json && rm -rf node_modules
//
// Keys are derived from fixed seeds with ripple-keypairs' deriveKeypair and
// signatures made with its sign (secp256k1: RFC 6979, low S, DER over
// SHA-512Half of the message; Ed25519: over the message itself), the code
// xrpl.js signs transactions with. Every case's expected status is checked
// here against ripple-keypairs' verify before it is written, and every
// identifier against its deriveAddress. Output is deterministic.

import { createHash } from "node:crypto";
import * as keypairs from "ripple-keypairs";
import { encodeAccountID } from "ripple-address-codec";

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
const utf8 = (s) => new Uint8Array(Buffer.from(s, "utf8"));
const concat = (...xs) => new Uint8Array(Buffer.concat(xs.map((x) => Buffer.from(x))));
const sha512half = (b) => new Uint8Array(createHash("sha512").update(b).digest().subarray(0, 32));

// The idOS transaction of docs/spec/transactions.md, "Test vectors".
const SIGN_BYTES = utf8(
  "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\n" +
    "Payload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a",
);

// Published key pairs.
// ripple-keypairs test/fixtures/api.json (xrpl.js repository).
const FIXTURE = {
  secp256k1: {
    seed: "sp5fghtJtpUorTwvof1NpDXAzNwf5",
    publicKey: "030D58EB48B4420B1F7B9DF55087E0E29FEF0E8468F9A6825B01CA2C361042D435",
    address: "rU6K7V3Po4snVhBBaU29sesqs2qTQJWDw1",
    message: "test message",
    signature:
      "30440220583A91C95E54E6A651C47BEC22744E0B101E2C4060E7B08F6341657DAD9BC3EE02207D1489C7395DB0188D3A56A977ECBA54B36FA9371B40319655B1B4429E33EF2D",
  },
  ed25519: {
    seed: "sEdSKaCy2JT7JaM7v95H9SxkhP9wS2r",
    publicKey: "ED01FA53FA5A7E77798F882ECE20B1ABC00BB358A9E55A202D0D0676BD0CE37A63",
    address: "rLUEXYuLiQptky37CqLcm9USQpPiz5rkpD",
    message: "test message",
    signature:
      "CB199E1BFD4E3DAA105E4832EEDFA36413E1F44205E4EFB9E27E826044C21E3E2E848BBC8195E8959BADF887599B7310AD1B7047EF11B682E0D068F73749750E",
  },
};
// The genesis account of every new XRP Ledger (secret of the passphrase
// "masterpassphrase"), xrpl.org "Accounts" / rippled docs.
const GENESIS = { seed: "snoPBrXtMeMyMHUVTgbuqAfg1SUTb", address: "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh" };

const secp = keypairs.deriveKeypair(FIXTURE.secp256k1.seed);
const ed = keypairs.deriveKeypair(FIXTURE.ed25519.seed);
const genesis = keypairs.deriveKeypair(GENESIS.seed);
// A second Ed25519 key: the seed of 16 bytes 0x2a.
const ed2 = keypairs.deriveKeypair(keypairs.generateSeed({ entropy: new Uint8Array(16).fill(0x2a), algorithm: "ed25519" }));
for (const [kp, want] of [[secp, FIXTURE.secp256k1], [ed, FIXTURE.ed25519]]) {
  if (kp.publicKey !== want.publicKey || keypairs.deriveAddress(kp.publicKey) !== want.address) {
    throw new Error("fixture key pair not reproduced");
  }
}
if (keypairs.deriveAddress(genesis.publicKey) !== GENESIS.address) throw new Error("genesis address not reproduced");
for (const f of Object.values(FIXTURE)) {
  const kp = keypairs.deriveKeypair(f.seed);
  if (keypairs.sign(hex(utf8(f.message)), kp.privateKey) !== f.signature) throw new Error("fixture signature not reproduced");
}

const sign = (kp, msg) => unhex(keypairs.sign(hex(msg), kp.privateKey));

function libVerify(signer, msg, sig) {
  try {
    return keypairs.verify(hex(msg), hex(sig).toUpperCase(), hex(signer).toUpperCase());
  } catch {
    return false;
  }
}

const cases = [];
function add(name, { signer, msg, sig, status, source, note }) {
  signer = typeof signer === "string" ? unhex(signer) : signer;
  const libValid = libVerify(signer, msg, sig);
  if (libValid !== (status === 0)) throw new Error(`${name}: expected status ${status}, ripple-keypairs says valid=${libValid}`);
  const c = { name, scheme: "xrpl", signer: hex(signer), msg: hex(msg), sig: hex(sig), status };
  if (status === 0) c.identifier = keypairs.deriveAddress(hex(signer));
  c.source = source;
  if (note) c.note = note;
  cases.push(c);
}

const lib = "ripple-keypairs@3.1.0 sign";
const fixtures = "ripple-keypairs test/fixtures/api.json";

// DER helpers for the malformed and malleable cases.
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
function derParts(der) {
  if (der[0] !== 0x30) throw new Error("not DER");
  const rl = der[3];
  const r = der.slice(4, 4 + rl);
  const s = der.slice(4 + rl + 2, 4 + rl + 2 + der[4 + rl + 1]);
  return [r, s];
}
const toInt = (b) => BigInt("0x" + (hex(b) || "0"));
// derInt is the minimal DER INTEGER body of a non-negative integer.
function derInt(n) {
  let h = n.toString(16);
  if (h.length % 2) h = "0" + h;
  let b = unhex(h);
  if (b[0] & 0x80) b = concat([0], b);
  return b;
}
const der = (r, s) => concat([0x30, r.length + s.length + 4, 0x02, r.length], r, [0x02, s.length], s);

const secpSig = sign(secp, SIGN_BYTES);
const edSig = sign(ed, SIGN_BYTES);
const genesisSig = sign(genesis, SIGN_BYTES);

add("ripple-keypairs fixture, secp256k1, \"test message\"", {
  signer: FIXTURE.secp256k1.publicKey, msg: utf8("test message"), sig: unhex(FIXTURE.secp256k1.signature), status: 0, source: fixtures,
});
add("ripple-keypairs fixture, ed25519, \"test message\"", {
  signer: FIXTURE.ed25519.publicKey, msg: utf8("test message"), sig: unhex(FIXTURE.ed25519.signature), status: 0, source: fixtures,
});
add("sign bytes, secp256k1 fixture key", { signer: secp.publicKey, msg: SIGN_BYTES, sig: secpSig, status: 0, source: lib });
add("sign bytes, ed25519 fixture key", { signer: ed.publicKey, msg: SIGN_BYTES, sig: edSig, status: 0, source: lib });
add("sign bytes, genesis account key", { signer: genesis.publicKey, msg: SIGN_BYTES, sig: genesisSig, status: 0, source: lib });
add("empty message, secp256k1", { signer: secp.publicKey, msg: new Uint8Array(), sig: sign(secp, new Uint8Array()), status: 0, source: lib });

const altered = utf8(Buffer.from(SIGN_BYTES).toString().replace("Nonce: 7", "Nonce: 8"));
add("altered message, secp256k1", { signer: secp.publicKey, msg: altered, sig: secpSig, status: 1, source: lib });
add("altered message, ed25519", { signer: ed.publicKey, msg: altered, sig: edSig, status: 1, source: lib });
{
  const [r, s] = derParts(secpSig);
  const r2 = derInt(toInt(r) ^ 1n);
  add("altered signature, secp256k1 (r bit flipped)", { signer: secp.publicKey, msg: SIGN_BYTES, sig: der(r2, s), status: 1, source: lib });
  const e = edSig.slice();
  e[5] ^= 0x01;
  add("altered signature, ed25519", { signer: ed.publicKey, msg: SIGN_BYTES, sig: e, status: 1, source: lib });
  add("wrong key, secp256k1 (genesis key, fixture signature)", { signer: genesis.publicKey, msg: SIGN_BYTES, sig: secpSig, status: 1, source: lib });
  add("wrong key, ed25519", { signer: ed2.publicKey, msg: SIGN_BYTES, sig: edSig, status: 1, source: lib });
  add("high-S twin (r, n-s)", {
    signer: secp.publicKey, msg: SIGN_BYTES, sig: der(r, derInt(N - toInt(s))), status: 1, source: lib,
    note: "valid ECDSA but not fully canonical; rippled requires low S",
  });
  add("DER: r with a superfluous leading zero", {
    signer: secp.publicKey, msg: SIGN_BYTES, sig: der(concat([0], r), s),
    status: 1, source: lib,
  });
  add("DER: trailing byte", { signer: secp.publicKey, msg: SIGN_BYTES, sig: concat(secpSig, [0]), status: 1, source: lib });
  const badLen = secpSig.slice();
  badLen[1] += 1;
  add("DER: wrong sequence length", { signer: secp.publicKey, msg: SIGN_BYTES, sig: badLen, status: 1, source: lib });
  add("compact r||s instead of DER", {
    signer: secp.publicKey, msg: SIGN_BYTES,
    sig: concat(unhex(toInt(r).toString(16).padStart(64, "0")), unhex(toInt(s).toString(16).padStart(64, "0"))), status: 1, source: lib,
  });
  add("DER: s = 0", { signer: secp.publicKey, msg: SIGN_BYTES, sig: der(r, new Uint8Array([0])), status: 1, source: lib });
  add("DER: r = n + r", { signer: secp.publicKey, msg: SIGN_BYTES, sig: der(derInt(N + toInt(r)), s), status: 1, source: lib });
}
add("ed25519 key, signature over SHA-512Half (secp256k1 style)", {
  signer: ed.publicKey, msg: SIGN_BYTES, sig: sign(ed, sha512half(SIGN_BYTES)), status: 1, source: lib,
});
add("secp256k1 key, ed25519 signature", { signer: secp.publicKey, msg: SIGN_BYTES, sig: edSig, status: 1, source: lib });
add("ed25519 signature 63 bytes", { signer: ed.publicKey, msg: SIGN_BYTES, sig: edSig.slice(0, 63), status: 1, source: lib });
add("ed25519 key without the 0xED prefix", { signer: unhex(ed.publicKey).slice(1), msg: SIGN_BYTES, sig: edSig, status: 2, source: lib });
add("ed25519 key with prefix 0xEC", { signer: concat([0xec], unhex(ed.publicKey).slice(1)), msg: SIGN_BYTES, sig: edSig, status: 2, source: lib });
add("secp256k1 key with prefix 0x04 (33 bytes)", { signer: concat([0x04], unhex(secp.publicKey).slice(1)), msg: SIGN_BYTES, sig: secpSig, status: 2, source: lib });
add("empty signer", { signer: new Uint8Array(), msg: SIGN_BYTES, sig: secpSig, status: 2, source: lib });

// Account ids and addresses: every key above, and the special addresses of
// xrpl.org "Addresses" (ACCOUNT_ZERO, ACCOUNT_ONE).
const addresses = [];
for (const [name, pub] of [["secp256k1 fixture", secp.publicKey], ["ed25519 fixture", ed.publicKey], ["genesis", genesis.publicKey], ["ed25519 second", ed2.publicKey]]) {
  addresses.push({ name, public_key: pub.toLowerCase(), address: keypairs.deriveAddress(pub) });
}
const accountIDs = [];
for (const [name, id, want] of [
  ["ACCOUNT_ZERO", new Uint8Array(20), "rrrrrrrrrrrrrrrrrrrrrhoLvTp"],
  ["ACCOUNT_ONE", concat(new Uint8Array(19), [1]), "rrrrrrrrrrrrrrrrrrrrBZbvji"],
  ["all 0xff", new Uint8Array(20).fill(0xff), null],
]) {
  const got = encodeAccountID(id);
  if (want !== null && got !== want) throw new Error(`${name}: ${got}`);
  accountIDs.push({ name, account_id: hex(id), address: got });
}

console.log(
  JSON.stringify(
    {
      generator: "sigplugins/xrpl/testdata/gen.mjs",
      packages: { "ripple-keypairs": "3.1.0", "ripple-address-codec": "5.0.1" },
      cases,
      addresses,
      account_ids: accountIDs,
    },
    null,
    2,
  ),
);
