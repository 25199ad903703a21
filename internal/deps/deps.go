// Package deps pins imports during bootstrap; removed once real code imports them.
package deps

import (
	_ "github.com/cometbft/cometbft/abci/types"
	_ "github.com/cometbft/cometbft/abci/example/kvstore"
	_ "github.com/cometbft/cometbft/config"
	_ "github.com/cometbft/cometbft/crypto/ed25519"
	_ "github.com/cometbft/cometbft/node"
	_ "github.com/cometbft/cometbft/p2p"
	_ "github.com/cometbft/cometbft/privval"
	_ "github.com/cometbft/cometbft/proxy"
	_ "github.com/cometbft/cometbft/rpc/client/http"
	_ "github.com/cometbft/cometbft/types"
	_ "github.com/ethereum/go-ethereum/common"
	_ "github.com/ethereum/go-ethereum/crypto"
	_ "github.com/ethereum/go-ethereum/rlp"
	_ "github.com/mr-tron/base58"
	_ "github.com/urfave/cli/v2"
	_ "modernc.org/sqlite"
)
