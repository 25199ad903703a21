// Generates vectors.json, the bip137 plugin's test vectors, with the Bitcoin
// JavaScript ecosystem's own libraries (exact versions in package.json):
//
//   mkdir -p /tmp/g && cp gen.mjs package.json /tmp/g/ && cd /tmp/g && npm install && node gen.mjs > vectors.json
//
// Signatures are bitcoinjs-message's sign (BIP-137 header bytes; with
// compressed=true and no segwitType for the Electrum-style signatures of
// segwit addresses), checked with bitcoinjs-message's verify; addresses are
// bitcoinjs-lib's payments (p2pkh, p2sh(p2wpkh), p2wpkh, p2wsh, p2tr). It also
// re-checks and includes bitcoinjs-message's own published fixtures
// (test/fixtures.json at commit 32ba49605668ab020319fea5b7f2df2411671c2a).
import message from "bitcoinjs-message";
import * as bitcoin from "bitcoinjs-lib";
import { ECPairFactory } from "ecpair";
import * as ecc from "tiny-secp256k1";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

bitcoin.initEccLib(ecc);
const ECPair = ECPairFactory(ecc);
const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url)));
const assert = (c, m) => { if (!c) throw new Error("assertion failed: " + m); };
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;
const sha256 = (b) => createHash("sha256").update(b).digest();
const hex = (b) => Buffer.from(b).toString("hex");
const net = bitcoin.networks.bitcoin;

// bitcoinjs-message test/fixtures.json (commit 32ba496), the Bitcoin-network entries.
const fixtures = {
  magicHash: [
    { message: "", magicHash: "80e795d4a4caadd7047af389d9f7f220562feb6196032e2131e10563352c4bcc" },
    { message: "Vires is Numeris", magicHash: "f8a5affbef4a3241b19067aa694562f64f513310817297089a8929a930f4f933" },
    { message: "Virès is Numéris", magicHash: "af3d51b82a6694d76af5b49401d6f824d66cfce6f96213e606e7da95fe675f25" },
  ],
  verify: [
    { message: "vires is numeris", address: "16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM", signature: "G8JawPtQOrybrSP1WHQnQPr67B9S3qrxBrl1mlzoTJOSHEpmnF7D3+t+LX0Xei9J20B5AIdPbeL3AaTBZ4N3bY0=" },
    { message: "vires is numeris", address: "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs", signature: "H8JawPtQOrybrSP1WHQnQPr67B9S3qrxBrl1mlzoTJOSHEpmnF7D3+t+LX0Xei9J20B5AIdPbeL3AaTBZ4N3bY0=" },
    { message: "vires is numeris", address: "3JvL6Ymt8MVWiCNHC7oWU6nLeHNJKLZGLN", signature: "JF8nHqFr3K2UKYahhX3soVeoW8W1ECNbr0wfck7lzyXjCS5Q16Ek45zyBuy1Fiy9sTPKVgsqqOuPvbycuVSSVl8=" },
    { message: "vires is numeris", address: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", signature: "KF8nHqFr3K2UKYahhX3soVeoW8W1ECNbr0wfck7lzyXjCS5Q16Ek45zyBuy1Fiy9sTPKVgsqqOuPvbycuVSSVl8=" },
  ],
  invalidVerify: [
    { description: "will fail for the wrong message", message: "foobar", address: "16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM", signature: "G8JawPtQOrybrSP1WHQnQPr67B9S3qrxBrl1mlzoTJOSHEpmnF7D3+t+LX0Xei9J20B5AIdPbeL3AaTBZ4N3bY0=" },
    { description: "will fail for the wrong address", message: "vires is numeris", address: "1111111111111111111114oLvT2", signature: "H8JawPtQOrybrSP1WHQnQPr67B9S3qrxBrl1mlzoTJOSHEpmnF7D3+t+LX0Xei9J20B5AIdPbeL3AaTBZ4N3bY0=" },
    { description: "does not cross verify (uncompressed address, compressed signature)", message: "vires is numeris", address: "16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM", signature: "H8JawPtQOrybrSP1WHQnQPr67B9S3qrxBrl1mlzoTJOSHEpmnF7D3+t+LX0Xei9J20B5AIdPbeL3AaTBZ4N3bY0=" },
    { description: "does not cross verify (compressed address, uncompressed signature)", message: "vires is numeris", address: "1PMycacnJaSqwwJqjawXBErnLsZ7RkXUAs", signature: "G8JawPtQOrybrSP1WHQnQPr67B9S3qrxBrl1mlzoTJOSHEpmnF7D3+t+LX0Xei9J20B5AIdPbeL3AaTBZ4N3bY0=" },
  ],
};

const texts = {
  // The sign bytes of docs/spec/transactions.md's test vectors.
  devnet: "idOS transaction v1\nChain ID: idos-devnet\nAction: kv.put\nNonce: 7\nPayload SHA-256: 70d1f39bbdf4662841088aba98df4925da43e70ea48f50355078351fce251b6a",
  tx: "idOS transaction v1\nChain ID: idos-testnet\nAction: kv.put\nNonce: 0\nPayload SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  tx2: "idOS transaction v1\nChain ID: idos test-net_1.0 (a)\nAction: credentials.add\nNonce: 18446744073709551615\nPayload SHA-256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
  empty: "",
  unicode: "Virès is Numéris ✓",
  len252: "x".repeat(252),
  len253: "y".repeat(253), // the first length with a 3-byte varint (0xfd, uint16)
};

const keys = {
  one: ECPair.fromPrivateKey(Buffer.from("00".repeat(31) + "01", "hex")), // the fixtures' d = 1
  k1: ECPair.fromPrivateKey(sha256("idOS bip137 vector key 1")),
  k2: ECPair.fromPrivateKey(sha256("idOS bip137 vector key 2")),
};
const uncompressed = (k) => ECPair.fromPrivateKey(k.privateKey, { compressed: false });

const addresses = (k) => ({
  p2pkh_uncompressed: bitcoin.payments.p2pkh({ pubkey: uncompressed(k).publicKey, network: net }).address,
  p2pkh: bitcoin.payments.p2pkh({ pubkey: k.publicKey, network: net }).address,
  p2sh_p2wpkh: bitcoin.payments.p2sh({ redeem: bitcoin.payments.p2wpkh({ pubkey: k.publicKey, network: net }), network: net }).address,
  p2wpkh: bitcoin.payments.p2wpkh({ pubkey: k.publicKey, network: net }).address,
});

// kinds: how to sign for each address type (bitcoinjs-message's sign arguments).
const kinds = {
  p2pkh_uncompressed: { addr: "p2pkh_uncompressed", compressed: false },
  p2pkh: { addr: "p2pkh", compressed: true },
  p2sh_p2wpkh: { addr: "p2sh_p2wpkh", compressed: true, segwitType: "p2sh(p2wpkh)" },
  p2wpkh: { addr: "p2wpkh", compressed: true, segwitType: "p2wpkh" },
  // Electrum, Sparrow and others sign segwit addresses with the P2PKH-compressed header (31-34).
  p2sh_p2wpkh_electrum: { addr: "p2sh_p2wpkh", compressed: true, electrum: true },
  p2wpkh_electrum: { addr: "p2wpkh", compressed: true, electrum: true },
};

function signKind(k, kind, text) {
  const sig = message.sign(text, k.privateKey, kind.compressed, kind.segwitType ? { segwitType: kind.segwitType } : undefined);
  const address = addresses(k)[kind.addr];
  assert(message.verify(text, address, sig, null, !!kind.electrum), `bitcoinjs-message verifies ${kind.addr}`);
  return { sig, address };
}

const lowS = (sig) => BigInt("0x" + hex(sig.subarray(33, 65))) <= HALF_N;
const vectors = [];
function add(name, address, text, sig, status, extra = {}) {
  const v = { name, signer: hex(Buffer.from(address, "utf8")), message: hex(Buffer.from(text, "utf8")), signature: hex(sig), status };
  if (status === 0) v.identifier = extra.identifier ?? address;
  delete extra.identifier;
  Object.assign(v, extra);
  vectors.push(v);
}

// Published fixtures.
for (const f of fixtures.verify) {
  const sig = Buffer.from(f.signature, "base64");
  assert(message.verify(f.message, f.address, sig), "fixture verifies");
  assert(lowS(sig), "fixture is low-S");
  add(`fixture: ${f.address}`, f.address, f.message, sig, 0, { source: "bitcoinjs-message test/fixtures.json valid.verify" });
}
for (const f of fixtures.invalidVerify) {
  const sig = Buffer.from(f.signature, "base64");
  assert(!message.verify(f.message, f.address, sig), "fixture fails");
  add(`fixture: ${f.description}`, f.address, f.message, sig, 1, { source: "bitcoinjs-message test/fixtures.json invalid.verify" });
}

// Valid: every key, address type and text.
for (const [kn, k] of Object.entries(keys)) {
  for (const [kindName, kind] of Object.entries(kinds)) {
    for (const [tn, text] of Object.entries(texts)) {
      const { sig, address } = signKind(k, kind, text);
      assert(lowS(sig), "bitcoinjs-message signs low-S");
      add(`valid: key ${kn}, ${kindName}, text ${tn}`, address, text, sig, 0, { header: sig[0] });
    }
  }
}

// Invalid.
const k = keys.k1, text = texts.tx, A = addresses(k), B = addresses(keys.k2);
const sig = signKind(k, kinds.p2pkh, text).sig;
const sigU = signKind(k, kinds.p2pkh_uncompressed, text).sig;
const sigW = signKind(k, kinds.p2wpkh, text).sig;
const sigS = signKind(k, kinds.p2sh_p2wpkh, text).sig;
const withHeader = (s, h) => { const c = Buffer.from(s); c[0] = h; return c; };
const flip = (s, i) => { const c = Buffer.from(s); c[i] ^= 1; return c; };
const libVerdict = (addr, t, s, electrum = false) => { try { return message.verify(t, addr, s, null, electrum); } catch { return false; } };
const rec = sig[0] - 31;

add("valid: uppercase bech32 address (identifier lowercase)", A.p2wpkh.toUpperCase(), text, sigW, 0, { identifier: A.p2wpkh, library_accepts: libVerdict(A.p2wpkh.toUpperCase(), text, sigW) });
add("invalid: wrong key (address of another key)", B.p2pkh, text, sig, 1);
add("invalid: wrong key (P2WPKH of another key)", B.p2wpkh, text, sigW, 1);
add("invalid: wrong key (P2SH-P2WPKH of another key)", B.p2sh_p2wpkh, text, sigS, 1);
add("invalid: altered message", A.p2pkh, text.replace("Nonce: 0", "Nonce: 1"), sig, 1);
add("invalid: altered signature (bit flipped in r)", A.p2pkh, text, flip(sig, 1), 1);
add("invalid: altered signature (bit flipped in s)", A.p2pkh, text, flip(sig, 40), 1);
{
  const hs = Buffer.from(sig);
  Buffer.from((N - BigInt("0x" + hex(sig.subarray(33)))).toString(16).padStart(64, "0"), "hex").copy(hs, 33);
  hs[0] = 31 + (rec ^ 1);
  add("invalid: high-S twin", A.p2pkh, text, hs, 1, { library_accepts: libVerdict(A.p2pkh, text, hs) });
}
add("invalid: other recovery id", A.p2pkh, text, withHeader(sig, 31 + (rec ^ 1)), 1);
add("invalid: recovery id 2 (header 33)", A.p2pkh, text, withHeader(sig, 33), 1);
add("invalid: recovery id 3 (header 34)", A.p2pkh, text, withHeader(sig, 34), 1);
add("invalid: uncompressed-key header on a compressed-key address", A.p2pkh, text, withHeader(sig, 27 + rec), 1, { library_accepts: libVerdict(A.p2pkh, text, withHeader(sig, 27 + rec)) });
add("invalid: compressed-key header on an uncompressed-key address", A.p2pkh_uncompressed, text, withHeader(sigU, sigU[0] + 4), 1, { library_accepts: libVerdict(A.p2pkh_uncompressed, text, withHeader(sigU, sigU[0] + 4)) });
add("invalid: P2WPKH header on a P2PKH address", A.p2pkh, text, withHeader(sig, 39 + rec), 1);
add("invalid: P2SH-P2WPKH header on a P2PKH address", A.p2pkh, text, withHeader(sig, 35 + rec), 1);
add("invalid: P2SH-P2WPKH header on a P2WPKH address", A.p2wpkh, text, withHeader(sigW, sigW[0] - 4), 1);
add("invalid: P2WPKH header on a P2SH address", A.p2sh_p2wpkh, text, withHeader(sigS, sigS[0] + 4), 1);
add("invalid: uncompressed-key header on a P2WPKH address", A.p2wpkh, text, withHeader(sigW, sigW[0] - 12), 1);
add("invalid: header 26", A.p2pkh, text, withHeader(sig, 26), 1);
add("invalid: header 43", A.p2pkh, text, withHeader(sig, 43), 1);
add("invalid: header 0", A.p2pkh, text, withHeader(sig, 0), 1);
add("invalid: signature 64 bytes (no header)", A.p2pkh, text, sig.subarray(1), 1);
add("invalid: signature 66 bytes", A.p2pkh, text, Buffer.concat([sig, Buffer.from([0])]), 1);
add("invalid: base64 text instead of the 65 bytes", A.p2pkh, text, Buffer.from(sig.toString("base64")), 1);
add("invalid: Bitcoin message signature over the text with the Ethereum prefix", A.p2pkh, text,
  message.sign(text, k.privateKey, true, "\x19Ethereum Signed Message:\n"), 1);

// Addresses the plugin refuses (status 2), each with an otherwise valid signature.
const badChecksum = (a) => a.slice(0, -1) + (a.endsWith("1") ? "2" : "1");
{
  const c = badChecksum(A.p2pkh);
  let threw = false;
  try { message.verify(text, c, sig); } catch { threw = true; }
  assert(threw, "bs58check refuses the checksum");
  add("invalid signer: base58check checksum", c, text, sig, 2);
}
add("invalid signer: bech32 checksum", A.p2wpkh.slice(0, -1) + (A.p2wpkh.endsWith("q") ? "p" : "q"), text, sigW, 2);
add("invalid signer: mixed-case bech32", A.p2wpkh.slice(0, 6).toUpperCase() + A.p2wpkh.slice(6), text, sigW, 2);
add("invalid signer: base58 character 0", "0" + A.p2pkh.slice(1), text, sig, 2);
add("invalid signer: testnet P2PKH", bitcoin.payments.p2pkh({ pubkey: k.publicKey, network: bitcoin.networks.testnet }).address, text, sig, 2);
add("invalid signer: testnet P2WPKH", bitcoin.payments.p2wpkh({ pubkey: k.publicKey, network: bitcoin.networks.testnet }).address, text, sigW, 2);
add("invalid signer: regtest P2WPKH", bitcoin.payments.p2wpkh({ pubkey: k.publicKey, network: bitcoin.networks.regtest }).address, text, sigW, 2);
add("invalid signer: P2WSH", bitcoin.payments.p2wsh({ redeem: bitcoin.payments.p2pkh({ pubkey: k.publicKey, network: net }), network: net }).address, text, sigW, 2);
add("invalid signer: P2TR (needs BIP-322)", bitcoin.payments.p2tr({ internalPubkey: k.publicKey.subarray(1), network: net }).address, text, sigW, 2);
add("invalid signer: empty", "", text, sig, 2);
add("invalid signer: raw 20-byte key hash instead of an address text", Buffer.from(bitcoin.crypto.hash160(k.publicKey)).toString("latin1"), text, sig, 2);

// magic hashes: the published ones plus each varint width.
const magic = fixtures.magicHash.map((f) => {
  assert(hex(message.magicHash(f.message)) === f.magicHash, "fixture magicHash");
  return { message: hex(Buffer.from(f.message, "utf8")), hash: f.magicHash };
});
const repeated = [0, 1, 252, 253, 65535, 65536, 70000].map((n) => ({ repeat: n, byte: "61", hash: hex(message.magicHash(Buffer.alloc(n, 0x61))) }));

const out = {
  comment: "Generated by gen.mjs; do not edit. status: 0 valid (identifier), 1 invalid signature, 2 invalid signer. signer (the address as UTF-8), message and signature (header byte || r || s) in hex.",
  packages: pkg.dependencies,
  node: process.version,
  magic_hashes: magic,
  magic_hashes_repeated: repeated,
  vectors,
};
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
