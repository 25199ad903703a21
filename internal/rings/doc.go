// Package rings holds no code: its test checks the dependency rings of the
// module (docs/ARCHITECTURE.md, "Rings"), so that a client never starts
// linking the node and the ABCI application never starts importing the
// modules it runs.
//
//   - pure core: node/wire, node/schemename, node/module/idos/idosschema,
//     node/readproof, node/commitment, node/apphash, node/changeset,
//     node/tx, node/auth;
//   - clients: node/gateway/gwclient, node/userclient, lightclient,
//     cmd/idoslight: the pure core and the network, never SQLite, wazero
//     or a node package;
//   - node: node/app runs whatever modules it is given; node/composition
//     names the default modules and their genesis.
package rings
