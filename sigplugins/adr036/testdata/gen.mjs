// Generates vectors.json, the adr036 plugin's test vectors, with the Cosmos
// ecosystem's own libraries (exact versions in package.json):
//
//   mkdir -p /tmp/g && cp gen.mjs package.json /tmp/g/ && cd /tmp/g && npm install && node gen.mjs > vectors.json
//
// The sign document is Keplr's makeADR36AminoSignDoc (what Keplr's
// signArbitrary signs), serialized by CosmJS' serializeSignDoc; signatures are
// CosmJS' Secp256k1Wallet / Secp256k1HdWallet signAmino (the offline amino
// signer), checked with Keplr's verifyADR36Amino; identifiers are the
// wallets' own bech32 addresses.
import { Secp256k1Wallet, Secp256k1HdWallet, serializeSignDoc, pubkeyToAddress, encodeSecp256k1Pubkey } from "@cosmjs/amino";
import { Secp256k1, Secp256k1Signature, sha256, keccak256 } from "@cosmjs/crypto";
import { toHex, fromHex, toBase64, fromBase64, toUtf8, fromUtf8 } from "@cosmjs/encoding";
import keplr from "@keplr-wallet/cosmos";
import { readFileSync } from "node:fs";

const { makeADR36AminoSignDoc, verifyADR36Amino } = keplr;
const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url)));
const assert = (c, m) => { if (!c) throw new Error("assertion failed: " + m); };
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HRP = "cosmos";

const texts = {
  // The sign bytes of docs/spec/transactions.md's test vectors.
  devnet: "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\nPayload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a",
  tx: "idOS transaction v1\nChain ID: idos-testnet\nAction: kv.put\nNonce: 0\nPayload SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  tx2: "idOS transaction v1\nChain ID: idos test-net_1.0 (a)\nAction: credentials.add\nNonce: 18446744073709551615\nPayload SHA-256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
  one: "a",
  two: "ab",
  unicode: "Virès is Numéris ✓ <&>",
  long: "idOS transaction v1\nChain ID: " + "c".repeat(50) + "\nAction: " + "a".repeat(64) + "\nNonce: 7\nPayload SHA-256: " + "f".repeat(64) + "\n" + "x".repeat(300),
};

async function account(wallet, hrp = HRP) {
  const [acc] = await wallet.getAccounts();
  assert(acc.algo === "secp256k1" && acc.pubkey.length === 33, "compressed secp256k1 key");
  assert(pubkeyToAddress(encodeSecp256k1Pubkey(acc.pubkey), hrp) === acc.address, "address");
  return { wallet, address: acc.address, pubkey: acc.pubkey };
}

const keys = {
  // The BIP-39 test mnemonic at Cosmos' default path m/44'/118'/0'/0/0.
  abandon: await account(await Secp256k1HdWallet.fromMnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", { prefix: HRP })),
  k1: await account(await Secp256k1Wallet.fromKey(sha256(toUtf8("idOS adr036 vector key 1")), HRP)),
  k2: await account(await Secp256k1Wallet.fromKey(sha256(toUtf8("idOS adr036 vector key 2")), HRP)),
};

// sign returns the 64-byte r||s of the account over Keplr's ADR-036 document
// for data, with the document's signer set to signerAddr (default: the account's address).
async function sign(acc, data, signerAddr = acc.address, mutate = (d) => d) {
  const doc = mutate(makeADR36AminoSignDoc(signerAddr, data));
  const { signature } = await acc.wallet.signAmino(acc.address, doc);
  assert(toHex(fromBase64(signature.pub_key.value)) === toHex(acc.pubkey), "pub_key");
  return { sig: fromBase64(signature.signature), doc: fromUtf8(serializeSignDoc(doc)) };
}

const vectors = [];
function add(name, signer, text, sig, status, extra = {}) {
  const v = { name, signer: toHex(signer), message: toHex(toUtf8(text)), signature: toHex(sig), status };
  Object.assign(v, extra);
  vectors.push(v);
}

for (const [kn, acc] of Object.entries(keys)) {
  for (const [tn, text] of Object.entries(texts)) {
    const { sig, doc } = await sign(acc, text);
    assert(sig.length === 64, "64-byte signature");
    assert(verifyADR36Amino(HRP, acc.address, text, acc.pubkey, sig), "Keplr verifies");
    assert(verifyADR36Amino(HRP, acc.address, toUtf8(text), acc.pubkey, sig), "Keplr verifies (bytes)");
    add(`valid: key ${kn}, text ${tn}`, acc.pubkey, text, sig, 0, { identifier: acc.address, sign_doc: doc });
  }
}

const a = keys.k1, b = keys.k2, text = texts.tx;
const { sig } = await sign(a, text);
const flip = (u, i) => { const c = Uint8Array.from(u); c[i] ^= 1; return c; };
const keplrVerdict = (signer, t, s) => { try { return verifyADR36Amino(HRP, signer, t, a.pubkey, s); } catch { return false; } };

add("invalid: wrong key (signer is another public key)", b.pubkey, text, sig, 1);
add("invalid: altered message", a.pubkey, text.replace("Nonce: 0", "Nonce: 1"), sig, 1);
add("invalid: altered signature (bit flipped in r)", a.pubkey, text, flip(sig, 0), 1);
add("invalid: altered signature (bit flipped in s)", a.pubkey, text, flip(sig, 40), 1);
{
  const s = Secp256k1Signature.fromFixedLength(sig);
  const hs = new Uint8Array(64);
  hs.set(s.r(32), 0);
  hs.set(fromHex((N - BigInt("0x" + toHex(s.s()))).toString(16).padStart(64, "0")), 32);
  add("invalid: high-S twin", a.pubkey, text, hs, 1, { libraries_accept: keplrVerdict(a.address, text, hs) });
}
{
  // The same key signing for another chain's address (HRP osmo): another document.
  const osmo = await account(await Secp256k1Wallet.fromKey(sha256(toUtf8("idOS adr036 vector key 1")), "osmo"), "osmo");
  const { sig: s } = await sign(osmo, text);
  assert(verifyADR36Amino("osmo", osmo.address, text, osmo.pubkey, s), "Keplr verifies osmo");
  add("invalid: signed for the osmo1 address of the same key", a.pubkey, text, s, 1, { doc_signer: osmo.address });
}
add("invalid: document with chain_id cosmoshub-4", a.pubkey, text, (await sign(a, text, a.address, (d) => ({ ...d, chain_id: "cosmoshub-4" }))).sig, 1);
add("invalid: document with memo", a.pubkey, text, (await sign(a, text, a.address, (d) => ({ ...d, memo: "idOS" }))).sig, 1);
add("invalid: document with account_number 1", a.pubkey, text, (await sign(a, text, a.address, (d) => ({ ...d, account_number: "1" }))).sig, 1);
add("invalid: document naming another signer", a.pubkey, text, (await sign(a, text, b.address)).sig, 1);
{
  // Ethermint-style (ethsecp256k1) hashes the document with Keccak-256 instead of SHA-256.
  const doc = serializeSignDoc(makeADR36AminoSignDoc(a.address, text));
  const priv = sha256(toUtf8("idOS adr036 vector key 1"));
  const es = await Secp256k1.createSignature(keccak256(doc), priv);
  add("invalid: Keccak-256 of the document (ethsecp256k1)", a.pubkey, text, es.toFixedLength().slice(0, 64), 1);
}
{
  // A raw signature over the text itself, without the ADR-036 document.
  const priv = sha256(toUtf8("idOS adr036 vector key 1"));
  const rs = await Secp256k1.createSignature(sha256(toUtf8(text)), priv);
  add("invalid: SHA-256 of the bare text (no sign document)", a.pubkey, text, rs.toFixedLength().slice(0, 64), 1);
}
{
  // ADR-036 data must not be empty: Keplr refuses to verify such a document, so does the plugin.
  const { sig: es } = await sign(a, "");
  let refused = false;
  try { verifyADR36Amino(HRP, a.address, "", a.pubkey, es); } catch { refused = true; }
  assert(refused, "Keplr refuses empty data");
  add("invalid: empty message (ADR-036 data must not be empty)", a.pubkey, "", es, 1);
}
add("invalid signer: 65-byte uncompressed key", Secp256k1.uncompressPubkey(a.pubkey), text, sig, 2);
add("invalid signer: 32 bytes", a.pubkey.slice(1), text, sig, 2);
add("invalid signer: 33 bytes with prefix 04", Uint8Array.from([4, ...a.pubkey.slice(1)]), text, sig, 2);
add("invalid: signature 65 bytes (r||s||v)", a.pubkey, text, Uint8Array.from([...sig, 1]), 1);
add("invalid: signature 63 bytes", a.pubkey, text, sig.slice(0, 63), 1);

const out = {
  comment: "Generated by gen.mjs; do not edit. status: 0 valid (identifier), 1 invalid signature, 2 invalid signer. signer, message, signature in hex; sign_doc is the exact document signed (SHA-256, secp256k1).",
  packages: pkg.dependencies,
  node: process.version,
  hrp: HRP,
  vectors,
};
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
