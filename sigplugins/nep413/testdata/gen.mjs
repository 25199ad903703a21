// Generates vectors.json for the nep413 plugin with NEAR's own JavaScript
// libraries (exact versions in package.json / package-lock.json):
//
//	cd sigplugins/nep413/testdata && npm ci && node gen.mjs > vectors.json && rm -rf node_modules
//
// Signatures come from @near-js/signers' KeyPairSigner.signNep413Message, the
// NEP-413 implementation near-api-js ships. Every case's expected status is
// checked here against the library's own verification (PublicKey.verify over
// the SHA-256 of the borsh payload the idOS mapping defines) before it is
// written, and each identifier against the library's public key bytes.
// Output is deterministic (Ed25519 signing is deterministic, keys are fixed).

import { createHash } from "node:crypto";
import { KeyPair, PublicKey } from "@near-js/crypto";
import { KeyPairSigner } from "@near-js/signers";
// The schema KeyPairSigner serializes with (not in the package's exports map).
import { Nep413MessageSchema } from "./node_modules/@near-js/signers/lib/esm/signer.js";
// borsh@1.0.0 is what @near-js/signers@2.5.1 serializes with; it writes a
// string as its UTF-16 code units cut to bytes, not as UTF-8, so it differs
// from NEP-413 (Rust borsh: UTF-8) for non-ASCII text. The payload the idOS
// mapping defines is built with borsh@2.0.0, which writes UTF-8.
import { serialize } from "borsh2";
import { baseEncode } from "@near-js/utils";

const hex = (b) => Buffer.from(b).toString("hex");
const sha256 = (b) => new Uint8Array(createHash("sha256").update(b).digest());
const utf8 = (s) => new Uint8Array(Buffer.from(s, "utf8"));
const concat = (...xs) => new Uint8Array(Buffer.concat(xs.map((x) => Buffer.from(x))));

// The idOS mapping (sigplugins/nep413/main.go): message = the sign bytes,
// nonce = SHA-256(sign bytes), recipient = "idos.network", callbackUrl = the
// bytes after the 64-byte signature (none if there are none).
const RECIPIENT = "idos.network";
const TAG = 2147484061; // 2^31 + 413

// payloadHash is what the mapping says is signed, built with the library's
// own schema and borsh.
function payloadHash({ message, nonce, recipient, callbackUrl, tag = TAG }) {
  const prefix = tag === null ? new Uint8Array() : serialize("u32", tag);
  return sha256(concat(prefix, serialize(Nep413MessageSchema, { message, nonce, recipient, callbackUrl })));
}

// The idOS transaction of docs/spec/transactions.md, "Test vectors".
const SIGN_BYTES =
  "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\n" +
  "Payload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a";

// Key A: near-api-js's own test key (packages/signers/test/key_pair_signer.test.ts).
const keyA = KeyPair.fromString(
  "ed25519:3FyRtUUMxiNT1g2ST6mbj7W1CN7KfQBbomawC7YG4A1zwHmw2TRsn1Wc8NaFcBCoJDu3zt3znJDSwKQ31oRaKXH7",
);
// Key B: the RFC 8032 seed 0x01..0x20 of the node's ed25519 vector
// (docs/spec/transactions.md). The library derives the public key from the
// first 32 bytes of the extended secret key (seed || public key).
const keyB = KeyPair.fromString("ed25519:" + baseEncode(concat(Uint8Array.from({ length: 32 }, (_, i) => i + 1), new Uint8Array(32))));

async function sign(key, { message, nonce, recipient, callbackUrl }) {
  const { signature } = await new KeyPairSigner(key).signNep413Message(message, "idos.testnet", recipient, nonce, callbackUrl);
  return signature;
}

// idos returns the mapping's parameters for a sign-bytes message.
const idos = (message, callbackUrl) => ({ message, nonce: sha256(utf8(message)), recipient: RECIPIENT, callbackUrl });

const cases = [];
// add records a case after checking its expected status against the library.
// signer: PublicKey bytes; msg: the node's message (string); sig: bytes.
function add(name, { signer, msg, sig, status, source }) {
  const tail = sig.slice(64);
  const callbackUrl = tail.length ? Buffer.from(tail).toString("utf8") : undefined;
  let libValid = false;
  if (signer.length === 32 && sig.length >= 64) {
    const pk = new PublicKey({ keyType: 0, data: signer });
    libValid = pk.verify(payloadHash(idos(msg, callbackUrl)), sig.slice(0, 64));
  }
  if (libValid !== (status === 0)) {
    throw new Error(`${name}: expected status ${status}, library says valid=${libValid}`);
  }
  const c = { name, scheme: "nep413", signer: hex(signer), msg: hex(utf8(msg)), sig: hex(sig), status };
  if (status === 0) {
    // The NEAR implicit account id: the lowercase hex of the key bytes.
    c.identifier = hex(signer);
    c.public_key = new PublicKey({ keyType: 0, data: signer }).toString();
  }
  c.source = source;
  cases.push(c);
}

const pubA = keyA.getPublicKey().data;
const pubB = keyB.getPublicKey().data;
const lib = "@near-js/signers@2.5.1 signNep413Message";

const sigA = await sign(keyA, idos(SIGN_BYTES));
const sigB = await sign(keyB, idos(SIGN_BYTES));
const callback = "https://app.idos.network/near/callback";
const sigCb = await sign(keyA, idos(SIGN_BYTES, callback));
const unicode = "idOS ✓ こんにちは";
// Non-ASCII text: signed over the UTF-8 payload (KeyPair.sign over the hash);
// near-api-js's own signNep413Message gets this one wrong (see the import).
const sigUni = keyA.sign(payloadHash(idos(unicode))).signature;
const sigUniNearApiJs = await sign(keyA, idos(unicode));

add("sign bytes, key A", { signer: pubA, msg: SIGN_BYTES, sig: sigA, status: 0, source: lib });
add("sign bytes, key B (RFC 8032 seed 01..20)", { signer: pubB, msg: SIGN_BYTES, sig: sigB, status: 0, source: lib });
add("sign bytes with a callbackUrl after the signature", {
  signer: pubA, msg: SIGN_BYTES, sig: concat(sigCb, utf8(callback)), status: 0, source: lib,
});
add("UTF-8 message", {
  signer: pubA, msg: unicode, sig: sigUni, status: 0, source: "@near-js/crypto@2.5.1 KeyPair.sign, borsh@2.0.0 payload",
});
add("UTF-8 message as near-api-js signs it (borsh@1.0.0 string bug)", {
  signer: pubA, msg: unicode, sig: sigUniNearApiJs, status: 1, source: lib,
});

const altered = SIGN_BYTES.replace("Nonce: 7", "Nonce: 8");
add("altered message (nonce 8)", { signer: pubA, msg: altered, sig: sigA, status: 1, source: lib });
const flipped = sigA.slice();
flipped[10] ^= 0x01;
add("altered signature (R bit flipped)", { signer: pubA, msg: SIGN_BYTES, sig: flipped, status: 1, source: lib });
add("wrong key (B's key, A's signature)", { signer: pubB, msg: SIGN_BYTES, sig: sigA, status: 1, source: lib });
add("signed for another recipient (example.near)", {
  signer: pubA, msg: SIGN_BYTES, sig: await sign(keyA, { ...idos(SIGN_BYTES), recipient: "example.near" }), status: 1, source: lib,
});
add("signed with another nonce (32 zero bytes)", {
  signer: pubA, msg: SIGN_BYTES, sig: await sign(keyA, { ...idos(SIGN_BYTES), nonce: new Uint8Array(32) }), status: 1, source: lib,
});
add("callbackUrl signed but not sent", { signer: pubA, msg: SIGN_BYTES, sig: sigCb, status: 1, source: lib });
add("callbackUrl sent but not signed", {
  signer: pubA, msg: SIGN_BYTES, sig: concat(sigA, utf8(callback)), status: 1, source: lib,
});
add("callbackUrl altered", {
  signer: pubA, msg: SIGN_BYTES, sig: concat(sigCb, utf8(callback + "x")), status: 1, source: lib,
});
// Wrong prefix: the payload without the NEP-413 tag, and with tag 2^31+414,
// signed by the key directly (KeyPair.sign over the SHA-256).
add("no NEP-413 tag prefix", {
  signer: pubA, msg: SIGN_BYTES, sig: keyA.sign(payloadHash({ ...idos(SIGN_BYTES), tag: null })).signature, status: 1,
  source: "@near-js/crypto@2.5.1 KeyPair.sign",
});
add("wrong tag (2^31+414)", {
  signer: pubA, msg: SIGN_BYTES, sig: keyA.sign(payloadHash({ ...idos(SIGN_BYTES), tag: TAG + 1 })).signature, status: 1,
  source: "@near-js/crypto@2.5.1 KeyPair.sign",
});
add("raw Ed25519 over the message (not NEP-413)", {
  signer: pubA, msg: SIGN_BYTES, sig: keyA.sign(utf8(SIGN_BYTES)).signature, status: 1,
  source: "@near-js/crypto@2.5.1 KeyPair.sign",
});
// S + L: the same signature with a non-reduced scalar (malleable twin).
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const sPlusL = (() => {
  const le = Buffer.from(sigA.slice(32)).reverse().toString("hex");
  const s = BigInt("0x" + le) + L;
  return new Uint8Array(Buffer.from(s.toString(16).padStart(64, "0"), "hex").reverse());
})();
add("S + L (non-canonical scalar)", { signer: pubA, msg: SIGN_BYTES, sig: concat(sigA.slice(0, 32), sPlusL), status: 1, source: lib });
add("signature 63 bytes", { signer: pubA, msg: SIGN_BYTES, sig: sigA.slice(0, 63), status: 1, source: lib });
add("signer 31 bytes", { signer: pubA.slice(0, 31), msg: SIGN_BYTES, sig: sigA, status: 2, source: lib });
add("signer as the text ed25519:<base58>", {
  signer: utf8(keyA.getPublicKey().toString()), msg: SIGN_BYTES, sig: sigA, status: 2, source: lib,
});

// near-api-js's published NEP-413 vectors (packages/signers/test/key_pair_signer.test.ts,
// "test sign NEP-413 message with/without callback url"): arbitrary recipient and
// nonce, so they check the plugin's payload hash rather than the idOS mapping.
const published = [];
for (const callbackUrl of ["http://localhost:3000", undefined]) {
  const p = {
    message: "Hello NEAR!",
    recipient: "example.near",
    nonce: new Uint8Array(Buffer.from("KNV0cOpvJ50D5vfF9pqWom8wo2sliQ4W+Wa7uZ3Uk6Y=", "base64")),
    callbackUrl,
  };
  const sig = await sign(keyA, p);
  const want = callbackUrl
    ? "zzZQ/GwAjrZVrTIFlvmmQbDQHllfzrr8urVWHaRt5cPfcXaCSZo35c5LDpPpTKivR6BxLyb3lcPM0FfCW5lcBQ=="
    : "NnJgPU1Ql7ccRTITIoOVsIfElmvH1RV7QAT4a9Vh6ShCOnjIzRwxqX54JzoQ/nK02p7VBMI2vJn48rpImIJwAw==";
  if (Buffer.from(sig).toString("base64") !== want) throw new Error("near-api-js published vector not reproduced");
  published.push({
    name: callbackUrl ? "near-api-js: with callback url" : "near-api-js: without callback url",
    public_key: hex(pubA),
    message: p.message,
    recipient: p.recipient,
    nonce: hex(p.nonce),
    ...(callbackUrl ? { callback_url: callbackUrl } : {}),
    payload_sha256: hex(payloadHash(p)),
    sig: hex(sig),
  });
}

console.log(
  JSON.stringify(
    {
      generator: "sigplugins/nep413/testdata/gen.mjs",
      packages: { "@near-js/crypto": "2.5.1", "@near-js/signers": "2.5.1", "@near-js/utils": "2.5.1", borsh: "1.0.0", borsh2: "npm:borsh@2.0.0" },
      cases,
      payload_vectors: published,
    },
    null,
    2,
  ),
);
