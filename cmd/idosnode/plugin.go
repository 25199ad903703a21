package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/idos-network/idos-node/node/auth"
	"github.com/idos-network/idos-node/node/home"
	"github.com/idos-network/idos-node/node/module/plugins"
	"github.com/idos-network/idos-node/node/valclient"
	"github.com/idos-network/idos-node/node/wasmhost"
	"github.com/idos-network/idos-node/sdk-wasm/vectors"
)

func pluginCommand() *cli.Command {
	return &cli.Command{
		Name:  "plugin",
		Usage: "propose, approve, remove, list and test signature plugins",
		Description: "Signature plugins are chain state (docs/spec/plugins.md). A validator proposes a\n" +
			"module (`propose`, which uploads it compressed in chunks first); validators\n" +
			"approve it (`approve`); with at least the genesis threshold (2/3) of voting power\n" +
			"before the proposal expires it becomes active at decision height + activation\n" +
			"delay, on every node, without a restart. `remove` proposes or approves a\n" +
			"removal, decided the same way. Transactions are signed with the home's\n" +
			"validator key. `test` runs a module offline against vectors.\n" +
			"`propose` asks the node first whether the name is free and the delay allowed,\n" +
			"and prints a line per uploaded chunk on stderr. `propose`, `approve` and\n" +
			"`remove` end with the proposal's state: approvers and their power, the power\n" +
			"still missing, and the activation (or removal) height once decided.\n" +
			"Exit status: 0 ok, 1 refused or failed, 2 wrong command line.",
		Subcommands: []*cli.Command{
			pluginProposeCommand(),
			pluginTxCommand("approve", plugins.KindAdd, "approve the pending proposal to add a scheme (validators only)",
				func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, name string) (valclient.Result, error) {
					return c.ApprovePlugin(ctx, key, name)
				}),
			pluginTxCommand("remove", plugins.KindRemove, "propose, or approve a proposal, to remove an active scheme (validators only)",
				func(ctx context.Context, c *valclient.Client, key ed25519.PrivateKey, name string) (valclient.Result, error) {
					return c.RemovePlugin(ctx, key, name)
				}),
			pluginLimitsCommand(),
			pluginListCommand(),
			pluginTestCommand(),
		},
	}
}

// homeKeyClient loads --home, its validator key and a client for it.
func homeKeyClient(c *cli.Context, cmd string) (*valclient.Client, ed25519.PrivateKey, error) {
	if c.String("home") == "" {
		return nil, nil, usageErrorf("%s: --home is required (it holds the signing key)", cmd)
	}
	h, err := home.Load(c.String("home"))
	if err != nil {
		return nil, nil, err
	}
	key, err := valclient.HomeKey(h)
	if err != nil {
		return nil, nil, err
	}
	vc, err := newValClient(c, h)
	return vc, key, err
}

// readModule reads a module and registers it in a local Wasm host, as a
// node would, to read its metadata.
func readModule(ctx context.Context, path string) ([]byte, *wasmhost.Plugin, func(), error) {
	wasm, err := readModuleFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	rt, err := wasmhost.NewRuntime(ctx, wasmhost.Config{})
	if err != nil {
		return nil, nil, nil, err
	}
	done := func() { _ = rt.Close(ctx) }
	p, err := rt.Register(ctx, wasm)
	if err != nil {
		done()
		return nil, nil, nil, fmt.Errorf("module %s refused: %w", path, err)
	}
	return wasm, p, done, nil
}

// errModuleTooLarge: a module file exceeds plugins.DefaultMaxModuleBytes.
var errModuleTooLarge = errors.New("module too large")

// readModuleFile reads a module file of at most
// plugins.DefaultMaxModuleBytes, the chain's default cap on an uploaded
// module, without reading more than one byte past the cap whatever the
// file's size (a pipe or a device has none to check first). Errors are
// usage errors.
func readModuleFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErrorf("read module: %v", err)
	}
	defer f.Close()
	const limit = plugins.DefaultMaxModuleBytes
	wasm, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, usageErrorf("read module: %v", err)
	}
	if len(wasm) > limit {
		return nil, usageErrorf("read module %s: %w: more than %d bytes, the chain's max_module_bytes default", path, errModuleTooLarge, limit)
	}
	return wasm, nil
}

func pluginProposeCommand() *cli.Command {
	return &cli.Command{
		Name:      "propose",
		Usage:     "upload a module and propose its scheme (validators only)",
		UsageText: "idosnode plugin propose --home DIR [--node URL] [--activation-delay N] FILE.wasm",
		Flags: []cli.Flag{validatorsHomeFlag(), nodeFlag(),
			&cli.Int64Flag{Name: "activation-delay", Usage: "`N` blocks between the decision and activation (default and minimum: genesis activation_delay_blocks)"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("plugin propose needs exactly one argument, FILE.wasm")
			}
			if c.Int64("activation-delay") < 0 {
				return usageErrorf("--activation-delay %d: want a number of blocks", c.Int64("activation-delay"))
			}
			vc, key, err := homeKeyClient(c, "plugin propose")
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			wasm, p, done, err := readModule(ctx, c.Args().First())
			if err != nil {
				return err
			}
			defer done()
			m := p.Metadata()
			fmt.Fprintf(c.App.Writer, "scheme  %s (%s keys)\nsha256  %x\n", m.Scheme, m.KeyType, p.Hash())
			// Refuse what the node would refuse before uploading.
			l, h, err := vc.Plugins(ctx)
			if err != nil {
				return fmt.Errorf("read the node's plugins: %w", err)
			}
			if err := checkProposal(l, h, m.Scheme, c.Int64("activation-delay")); err != nil {
				return err
			}
			vc.UploadProgress = uploadProgress(c.App.ErrWriter)
			res, err := vc.ProposePlugin(ctx, key, wasm, valclient.PluginMeta{Scheme: m.Scheme, KeyType: m.KeyType, AddressFormat: m.AddressFormat},
				c.Int64("activation-delay"))
			if err := printTxResult(c.App.Writer, res, err); err != nil {
				return err
			}
			if err := waitChecked(ctx, c.App.Writer, vc, m.Scheme); err != nil {
				return err
			}
			printProposalStatus(ctx, c.App.Writer, vc, plugins.KindAdd, m.Scheme)
			return nil
		},
	}
}

// waitChecked says until when every node checks the proposed module and
// waits for the verdict; a refusal is the command's failure.
func waitChecked(ctx context.Context, w io.Writer, vc *valclient.Client, scheme string) error {
	if l, _, err := vc.Plugins(ctx); err == nil {
		for _, pl := range l.Plugins {
			if pl.Scheme == scheme && pl.Status == plugins.StatusChecking {
				fmt.Fprintf(w, "check   every node checks the module until height %d\n", pl.CheckHeight)
			}
		}
	}
	pl, err := vc.WaitPluginChecked(ctx, scheme)
	if err != nil {
		return err
	}
	if pl.Status == plugins.StatusRefused {
		return fmt.Errorf("%w at height %d: %s", plugins.ErrBadModule, pl.CheckHeight, pl.Refusal)
	}
	fmt.Fprintf(w, "check   passed at height %d; approvals open\n", pl.CheckHeight)
	return nil
}

func pluginTxCommand(name, kind, usage string, send func(context.Context, *valclient.Client, ed25519.PrivateKey, string) (valclient.Result, error)) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		UsageText: "idosnode plugin " + name + " --home DIR [--node URL] SCHEME",
		Flags:     []cli.Flag{validatorsHomeFlag(), nodeFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || c.Args().First() == "" {
				return usageErrorf("plugin %s needs exactly one argument, SCHEME", name)
			}
			vc, key, err := homeKeyClient(c, "plugin "+name)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			res, err := send(ctx, vc, key, c.Args().First())
			if err := printTxResult(c.App.Writer, res, err); err != nil {
				return err
			}
			printProposalStatus(ctx, c.App.Writer, vc, kind, c.Args().First())
			return nil
		},
	}
}

// applyLimitFlags overrides the limits the command line names.
func applyLimitFlags(c *cli.Context, l *wasmhost.Limits) (changed bool) {
	if c.IsSet("fuel-limit") {
		l.FuelLimit, changed = c.Uint64("fuel-limit"), true
	}
	if c.IsSet("init-fuel-limit") {
		l.InitFuelLimit, changed = c.Uint64("init-fuel-limit"), true
	}
	if c.IsSet("stack-budget") {
		l.StackBudget, changed = uint32(min(c.Uint("stack-budget"), math.MaxUint32)), true
	}
	if c.IsSet("memory-limit-pages") {
		l.MemoryLimitPages, changed = uint32(min(c.Uint("memory-limit-pages"), math.MaxUint32)), true
	}
	return changed
}

func pluginLimitsCommand() *cli.Command {
	flags := []cli.Flag{validatorsHomeFlag(), nodeFlag(),
		&cli.Uint64Flag{Name: "fuel-limit", Usage: "new fuel of one call, `N` units"},
		&cli.Uint64Flag{Name: "init-fuel-limit", Usage: "new fuel of _initialize, `N` units"},
		&cli.UintFlag{Name: "stack-budget", Usage: "new stack budget of one call, `N` stack units"},
		&cli.UintFlag{Name: "memory-limit-pages", Usage: "new memory cap, `N` pages of 64 KiB"},
	}
	return &cli.Command{
		Name:  "limits",
		Usage: "propose new Wasm execution limits, or approve the open proposal of the same ones (validators only)",
		UsageText: "idosnode plugin limits --home DIR [--node URL] [--fuel-limit N] [--init-fuel-limit N]\n" +
			"    [--stack-budget N] [--memory-limit-pages N]\n" +
			"Limits not given keep the chain's latest decided value (docs/spec/plugins.md).",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("plugin limits takes no arguments, got %v", c.Args().Slice())
			}
			if !applyLimitFlags(c, &wasmhost.Limits{}) {
				return usageErrorf("plugin limits: give at least one of --fuel-limit, --init-fuel-limit, --stack-budget, --memory-limit-pages")
			}
			vc, key, err := homeKeyClient(c, "plugin limits")
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			l, _, err := vc.Plugins(ctx)
			if err != nil {
				return err
			}
			limits := l.Params.Wasm
			applyLimitFlags(c, &limits)
			if err := limits.Validate(); err != nil {
				return usageErrorf("plugin limits: %v", err)
			}
			fmt.Fprintf(c.App.Writer, "limits  %+v\n", limits)
			res, err := vc.ProposeWasmLimits(ctx, key, limits)
			return printTxResult(c.App.Writer, res, err)
		},
	}
}

// pluginListView is `plugin list --json`.
type pluginListView struct {
	Height  int64             `json:"height"`
	Builtin []string          `json:"builtin"`
	Plugins []plugins.Plugin  `json:"plugins"`
	Pending []plugins.Request `json:"pending"`
	Params  plugins.Params    `json:"params"`
	// WasmLimits are the Wasm limits by the height they apply from.
	WasmLimits []plugins.ScheduledLimits `json:"wasm_limits"`
}

func pluginListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "show the schemes: built-in and plugins (hash, status, heights), and open proposals",
		UsageText: "idosnode plugin list (--home DIR | --node URL) [--json]",
		Flags:     []cli.Flag{validatorsHomeFlag(), nodeFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("plugin list takes no arguments, got %v", c.Args().Slice())
			}
			vc, err := queryClient(c)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, validatorsTimeout)
			defer cancel()
			l, h, err := vc.Plugins(ctx)
			if err != nil {
				return err
			}
			reqs, err := vc.PluginRequests(ctx, false)
			if err != nil {
				return err
			}
			v := pluginListView{Height: h, Builtin: l.Builtin, Plugins: l.Plugins, Pending: reqs.Requests, Params: l.Params, WasmLimits: l.WasmLimits}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, v)
			}
			printPlugins(c.App.Writer, v)
			return nil
		},
	}
}

// pluginState says what a plugin does at height h+1, the next block.
func pluginState(p plugins.Plugin, h int64) string {
	next := h + 1
	switch {
	case p.Status == plugins.StatusChecking:
		return fmt.Sprintf("checking until %d", p.CheckHeight)
	case p.Status == plugins.StatusRefused:
		return "refused: " + p.Refusal
	case p.Status == plugins.StatusPending || p.Status == plugins.StatusExpired:
		return p.Status
	case p.ActiveFrom > next:
		return fmt.Sprintf("active from %d", p.ActiveFrom)
	case p.RemovedFrom != 0 && next >= p.RemovedFrom:
		return "removed"
	case p.RemovedFrom != 0:
		return fmt.Sprintf("active until %d", p.RemovedFrom-1)
	}
	return "active"
}

func printPlugins(w io.Writer, v pluginListView) {
	fmt.Fprintf(w, "height %d\n\n", v.Height)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEME\tKIND\tSTATE\tSHA256\tPROPOSED\tACTIVE_FROM\tREMOVED_FROM")
	for _, b := range v.Builtin {
		fmt.Fprintf(tw, "%s\tbuilt-in\tactive\t-\t-\t-\t-\n", b)
	}
	for _, p := range v.Plugins {
		fmt.Fprintf(tw, "%s\tplugin\t%s\t%s\t%d\t%s\t%s\n", p.Scheme, pluginState(p, v.Height), p.SHA256[:16]+"…",
			p.Proposed, heightOrDash(p.ActiveFrom), heightOrDash(p.RemovedFrom))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nwasm limits:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM_HEIGHT\tFUEL\tINIT_FUEL\tSTACK_BUDGET\tMEMORY_PAGES")
	for _, s := range v.WasmLimits {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\n", s.ActiveFrom, s.Wasm.FuelLimit, s.Wasm.InitFuelLimit, s.Wasm.StackBudget, s.Wasm.MemoryLimitPages)
	}
	tw.Flush()
	if len(v.Pending) > 0 {
		fmt.Fprintln(w, "\nopen proposals:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tSCHEME\tEXPIRES\tAPPROVED\tNEEDED")
		t := v.Params.ApprovalThreshold
		for _, r := range v.Pending {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d\t%d/%d of power\n", r.Kind, r.Scheme, r.Expires, r.ApprovedPower, r.TotalPower, t.Numerator, t.Denominator)
		}
		tw.Flush()
	}
}

func heightOrDash(h int64) string {
	if h == 0 {
		return "-"
	}
	return fmt.Sprint(h)
}

func pluginTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run a module offline against test vectors",
		UsageText: "idosnode plugin test --vectors FILE.json MODULE.wasm",
		Description: "Registers MODULE.wasm as a node would (ABI, imports, metadata) and runs every\n" +
			"vector: hex signer, message and signature, and the expected outcome (valid,\n" +
			"invalid_signature, invalid_signer). Prints one line per vector. Exit status 0\n" +
			"when all pass, 1 when one fails or the module is refused, 2 on a bad command line\n" +
			"or vectors file.",
		Flags: []cli.Flag{&cli.StringFlag{Name: "vectors", Usage: "vectors `FILE.json`"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("plugin test needs exactly one argument, MODULE.wasm")
			}
			if c.String("vectors") == "" {
				return usageErrorf("plugin test: --vectors is required")
			}
			vs, err := readVectors(c.String("vectors"))
			if err != nil {
				return err
			}
			ctx := context.Background()
			_, p, done, err := readModule(ctx, c.Args().First())
			if err != nil {
				return err
			}
			defer done()
			if vs.Scheme != "" && vs.Scheme != p.Name() {
				return fmt.Errorf("the vectors are for scheme %q, the module implements %q", vs.Scheme, p.Name())
			}
			failed := runVectors(c.App.Writer, p, vs.Vectors)
			fmt.Fprintf(c.App.Writer, "%d of %d vectors passed\n", len(vs.Vectors)-failed, len(vs.Vectors))
			if failed > 0 {
				return fmt.Errorf("%d vectors failed", failed)
			}
			return nil
		},
	}
}

func readVectors(path string) (vectors.File, error) {
	vs, err := vectors.Read(path)
	if err != nil {
		return vs, usageErrorf("vectors: %w", err)
	}
	return vs, nil
}

// runVectors prints one line per vector and returns how many failed.
func runVectors(w io.Writer, s auth.Scheme, vs []vectors.Vector) int {
	failed := 0
	for i, v := range vs {
		signer, msg, sig := v.Bytes()
		id, err := s.Verify(signer, msg, sig)
		got := vectors.Valid
		switch {
		case errors.Is(err, auth.ErrInvalidSignature):
			got = vectors.InvalidSignature
		case errors.Is(err, auth.ErrInvalidSigner):
			got = vectors.InvalidSigner
		case err != nil:
			got = "error"
		}
		ok := got == v.Expect && (got != vectors.Valid || v.Identifier == "" || id == v.Identifier)
		status := "ok  "
		if !ok {
			status = "FAIL"
			failed++
		}
		detail := got
		if got == vectors.Valid {
			detail += " " + id
		} else if err != nil {
			detail += ": " + strings.TrimSpace(err.Error())
		}
		fmt.Fprintf(w, "%s %2d %s: %s (want %s)\n", status, i, v.Name, detail, v.Expect)
	}
	return failed
}
