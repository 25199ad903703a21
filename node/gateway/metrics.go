package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idos-network/idos-node/node/wire"
)

// metrics are the gateway's Prometheus metrics. They live in the server's
// own registry, not the global one, so several servers in one process (tests,
// a future second listener) do not collide, and CometBFT's metrics stay on
// CometBFT's own endpoint.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	txs      *prometheus.CounterVec
	handler  http.Handler
}

func newMetrics(outstandingChallenges func() int) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idos", Subsystem: "gateway", Name: "requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "idos", Subsystem: "gateway", Name: "request_duration_seconds",
			Help:    "HTTP request latency by route pattern and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "status"}),
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "idos", Subsystem: "gateway", Name: "tx_submissions_total",
			Help: "Transaction submissions by mode and result: the ABCI code, \"accepted\" (async), or a gateway error code.",
		}, []string{"mode", "result"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.txs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "idos", Subsystem: "gateway", Name: "challenges_outstanding",
			Help: "Read challenges issued and neither used nor swept yet.",
		}, func() float64 { return float64(outstandingChallenges()) }))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(route, code).Inc()
	m.duration.WithLabelValues(route, code).Observe(d.Seconds())
}

func (m *metrics) txSubmitted(mode wire.Mode, result string) {
	m.txs.WithLabelValues(string(mode), result).Inc()
}

func (m *metrics) serve(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }
