// Generates vectors.json, the eip712 plugin's test vectors, with the
// Ethereum ecosystem's own libraries (exact versions in package.json):
//
//   mkdir -p /tmp/g && cp gen.mjs package.json /tmp/g/ && cd /tmp/g && npm install && node gen.mjs > vectors.json
//
// Signatures are made by ethers' Wallet.signTypedData and cross-checked
// byte for byte against MetaMask's @metamask/eth-sig-util signTypedData (V4),
// the code behind eth_signTypedData_v4; identifiers are ethers' getAddress
// (EIP-55) of the recovered signer. It also checks the published EIP-712
// "Mail" example (https://eips.ethereum.org/EIPS/eip-712, assets/eip-712/Example.js).
import { Wallet, TypedDataEncoder, Signature, getAddress, keccak256, toUtf8Bytes, verifyTypedData, hexlify, getBytes } from "ethers";
import { signTypedData, recoverTypedSignature, SignTypedDataVersion, TypedDataUtils } from "@metamask/eth-sig-util";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url)));
const assert = (c, m) => { if (!c) throw new Error("assertion failed: " + m); };
const hex = (b) => hexlify(b).slice(2);
const utf8hex = (s) => hex(toUtf8Bytes(s));
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

// The idOS typed data (docs/spec/schemes.md#eip712).
const domain = { name: "idOS", version: "1" };
const types = { IdosTransaction: [{ name: "text", type: "string" }] };
const mmTypes = {
  EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }],
  ...types,
};

function sign(wallet, text, d = domain, t = types) {
  return wallet.signTypedData(d, t, { text });
}

async function signIdos(wallet, text) {
  const sig = await sign(wallet, text);
  // MetaMask's implementation gives the same bytes (RFC 6979) and recovers the same address.
  const mm = signTypedData({
    privateKey: getBytes(wallet.privateKey),
    data: { types: mmTypes, primaryType: "IdosTransaction", domain, message: { text } },
    version: SignTypedDataVersion.V4,
  });
  assert(mm === sig, "eth-sig-util signature equals ethers'");
  const rec = recoverTypedSignature({
    data: { types: mmTypes, primaryType: "IdosTransaction", domain, message: { text } },
    signature: sig,
    version: SignTypedDataVersion.V4,
  });
  assert(getAddress(rec) === wallet.address, "eth-sig-util recovers the signer");
  assert(verifyTypedData(domain, types, { text }, sig) === wallet.address, "ethers recovers the signer");
  return sig;
}

const keys = {
  cow: new Wallet(keccak256(toUtf8Bytes("cow"))), // the EIP-712 example's key
  web3: new Wallet("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"),
  k1: new Wallet(keccak256(toUtf8Bytes("idOS eip712 vector key 1"))),
  k2: new Wallet(keccak256(toUtf8Bytes("idOS eip712 vector key 2"))),
};

const texts = {
  // The sign bytes of docs/spec/transactions.md's test vectors.
  devnet: "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\nPayload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a",
  tx: "idOS transaction v1\nChain ID: idos-testnet\nAction: kv.put\nNonce: 0\nPayload SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  tx2: "idOS transaction v1\nChain ID: idos test-net_1.0 (a)\nAction: credentials.add\nNonce: 18446744073709551615\nPayload SHA-256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
  empty: "",
  unicode: "Virès is Numéris ✓",
  long: "idOS transaction v1\nChain ID: " + "c".repeat(50) + "\nAction: " + "a".repeat(64) + "\nNonce: 7\nPayload SHA-256: " + "f".repeat(64) + "\n" + "x".repeat(200),
};

const vectors = [];
function add(name, signer, text, sig, status, extra = {}) {
  const v = { name, signer: hex(signer), message: utf8hex(text), signature: sig.slice(2), status };
  if (status === 0) v.identifier = getAddress(hexlify(signer));
  Object.assign(v, extra);
  vectors.push(v);
}
const addr = (w) => getBytes(w.address);

// Valid: every key over every text, with the typed-data digest the libraries compute.
for (const [kn, w] of Object.entries(keys)) {
  for (const [tn, text] of Object.entries(texts)) {
    const sig = await signIdos(w, text);
    const digest = TypedDataEncoder.hash(domain, types, { text });
    assert(hex(TypedDataUtils.eip712Hash({ types: mmTypes, primaryType: "IdosTransaction", domain, message: { text } }, SignTypedDataVersion.V4)) === digest.slice(2), "digests agree");
    add(`valid: key ${kn}, text ${tn}`, addr(w), text, sig, 0, { digest: digest.slice(2) });
  }
}

const w = keys.k1, other = keys.k2, text = texts.tx;
const sig = await signIdos(w, text);
const s = Signature.from(sig);
const withV = (v) => sig.slice(0, 130) + v.toString(16).padStart(2, "0");
const flip = (h, byte) => { const b = getBytes(h); b[byte] ^= 1; return hexlify(b); };

add("valid: v as raw recovery id (0/1)", addr(w), text, withV(s.v - 27), 0);
add("invalid: wrong key (signer is another address)", addr(other), text, sig, 1);
add("invalid: altered message (nonce 1 instead of 0)", addr(w), text.replace("Nonce: 0", "Nonce: 1"), sig, 1);
add("invalid: altered signature (bit flipped in s)", addr(w), text, flip(sig, 40), 1);
add("invalid: altered signature (bit flipped in r)", addr(w), text, flip(sig, 0), 1);
add("invalid: other recovery id", addr(w), text, withV(s.v === 27 ? 28 : 27), 1);
add("invalid: v = 29", addr(w), text, withV(29), 1);
add("invalid: v = 37 (EIP-155 style)", addr(w), text, withV(37), 1);
{
  // The malleable twin (r, n-s, other v) recovers the same address in the libraries; the plugin requires low S.
  // (ethers' Signature refuses a high S, so the bytes are put together by hand.)
  const twin = s.r + (N - BigInt(s.s)).toString(16).padStart(64, "0") + (s.v === 27 ? "1c" : "1b");
  const rec = recoverTypedSignature({ data: { types: mmTypes, primaryType: "IdosTransaction", domain, message: { text } }, signature: twin, version: SignTypedDataVersion.V4 });
  add("invalid: high-S twin", addr(w), text, twin, 1, { libraries_accept: getAddress(rec) === w.address });
}
add("invalid: domain with chainId 1", addr(w), text, await sign(w, text, { ...domain, chainId: 1 }), 1);
add("invalid: domain version 2", addr(w), text, await sign(w, text, { name: "idOS", version: "2" }), 1);
add("invalid: domain name idos (case)", addr(w), text, await sign(w, text, { name: "idos", version: "1" }), 1);
add("invalid: other type name IdosTx(string text)", addr(w), text, await sign(w, text, domain, { IdosTx: [{ name: "text", type: "string" }] }), 1);
add("invalid: other field name IdosTransaction(string message)", addr(w), text, await w.signTypedData(domain, { IdosTransaction: [{ name: "message", type: "string" }] }, { message: text }), 1);
add("invalid: personal_sign (EIP-191) of the same text", addr(w), text, await w.signMessage(text), 1);
add("invalid signer: 19 bytes", addr(w).slice(0, 19), text, sig, 2);
add("invalid signer: 32 bytes", new Uint8Array(32), text, sig, 2);
add("invalid: signature 64 bytes", addr(w), text, sig.slice(0, 130), 1);
add("invalid: signature 66 bytes", addr(w), text, sig + "00", 1);

// The EIP-712 specification's Mail example.
const mail = {
  domain: { name: "Ether Mail", version: "1", chainId: 1, verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC" },
  types: {
    Person: [{ name: "name", type: "string" }, { name: "wallet", type: "address" }],
    Mail: [{ name: "from", type: "Person" }, { name: "to", type: "Person" }, { name: "contents", type: "string" }],
  },
  message: {
    from: { name: "Cow", wallet: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" },
    to: { name: "Bob", wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
    contents: "Hello, Bob!",
  },
};
const published = {
  domain_separator: "f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f",
  struct_hash: "c52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e",
  digest: "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2",
  signature: "4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c",
  address: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826",
};
assert(TypedDataEncoder.hashDomain(mail.domain).slice(2) === published.domain_separator, "Mail domain separator");
assert(TypedDataEncoder.from(mail.types).hash(mail.message).slice(2) === published.struct_hash, "Mail struct hash");
assert(TypedDataEncoder.hash(mail.domain, mail.types, mail.message).slice(2) === published.digest, "Mail digest");
assert((await keys.cow.signTypedData(mail.domain, mail.types, mail.message)).slice(2) === published.signature, "Mail signature");
assert(keys.cow.address === published.address, "Mail signer");

const out = {
  comment: "Generated by gen.mjs; do not edit. status: 0 valid (identifier), 1 invalid signature, 2 invalid signer. signer, message, signature in hex.",
  packages: pkg.dependencies,
  node: process.version,
  domain_separator: TypedDataEncoder.hashDomain(domain).slice(2),
  struct_hash_empty_text: TypedDataEncoder.from(types).hash({ text: "" }).slice(2),
  eip712_mail_example: published,
  vectors,
};
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
