package install

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/pushops/push-operator/relay/metrics"
)

// targetLabels are the labels Prometheus (through a PushService's ServiceMonitor) puts on
// every series it scrapes from a relay; the relay itself does not export them.
var targetLabels = []string{"namespace", "job", "pod", "instance", "service", "container", "endpoint"}

// relayMetrics returns every series name the relay exports with its label names: the
// registry of relay/metrics.New(), histograms expanded to _bucket/_sum/_count.
func relayMetrics(t *testing.T) map[string][]string {
	t.Helper()
	m := metrics.New()
	series := map[string][]string{}
	add := func(name string, typ dto.MetricType, labels []string) {
		switch typ {
		case dto.MetricType_HISTOGRAM:
			series[name+"_bucket"] = append(slices.Clone(labels), "le")
			series[name+"_sum"] = labels
			series[name+"_count"] = labels
		case dto.MetricType_SUMMARY:
			series[name] = append(slices.Clone(labels), "quantile")
			series[name+"_sum"] = labels
			series[name+"_count"] = labels
		default:
			series[name] = labels
		}
	}

	// Metrics without labels, and the Go and process collectors, always gather.
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering the relay's metrics: %v", err)
	}
	for _, f := range families {
		add(f.GetName(), f.GetType(), nil)
	}
	// Vectors gather nothing until they have a child; their descriptors name them, and
	// the Metrics field holding each says its type.
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		c, ok := v.Field(i).Interface().(prometheus.Collector)
		if !ok || v.Type().Field(i).Name == "Registry" {
			continue
		}
		typ := dto.MetricType_UNTYPED
		switch v.Type().Field(i).Type {
		case reflect.TypeFor[*prometheus.HistogramVec](), reflect.TypeFor[prometheus.Histogram]():
			typ = dto.MetricType_HISTOGRAM
		case reflect.TypeFor[*prometheus.SummaryVec](), reflect.TypeFor[prometheus.Summary]():
			typ = dto.MetricType_SUMMARY
		}
		for _, d := range describe(c) {
			name, labels := parseDesc(t, d)
			add(name, typ, labels)
		}
	}
	// Every descriptor the registry holds must be accounted for, or a metric registered
	// some other way would be missed (and its histogram suffixes unknown).
	for _, d := range describe(m.Registry) {
		name, _ := parseDesc(t, d)
		_, plain := series[name]
		_, histogram := series[name+"_count"]
		if !plain && !histogram {
			t.Errorf("metric %s is registered but neither gathered nor a field of metrics.Metrics", name)
		}
	}
	return series
}

func describe(c prometheus.Collector) []*prometheus.Desc {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	var descs []*prometheus.Desc
	for d := range ch {
		descs = append(descs, d)
	}
	return descs
}

var descPattern = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)

// parseDesc reads name and variable labels from a Desc; client_golang offers no getters.
func parseDesc(t *testing.T, d *prometheus.Desc) (string, []string) {
	t.Helper()
	m := descPattern.FindStringSubmatch(d.String())
	if m == nil {
		t.Fatalf("cannot read the metric descriptor %s", d)
	}
	var labels []string
	for _, l := range strings.Split(m[2], ",") {
		if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
			labels = append(labels, l)
		}
	}
	return m[1], labels
}

// checkExpr fails unless expr selects only metrics the relay exports and matches and
// groups only by labels those metrics (or the scrape) carry. It returns what expr refers to.
func checkExpr(t *testing.T, where, expr string, exported map[string][]string) promqlRefs {
	t.Helper()
	refs, err := parsePromQL(expr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return refs
	}
	if len(refs.Metrics) == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
	known := slices.Clone(targetLabels)
	for _, name := range refs.Metrics {
		labels, ok := exported[name]
		if !ok {
			t.Errorf("%s: %s is not a metric the relay exports (relay/metrics)", where, name)
		}
		known = append(known, labels...)
	}
	for _, l := range append(slices.Clone(refs.MatchedLabels), refs.GroupedLabels...) {
		if !slices.Contains(known, l) {
			t.Errorf("%s: label %q is on none of %v", where, l, refs.Metrics)
		}
	}
	return refs
}

var templateLabel = regexp.MustCompile(`\$labels\.(\w+)`)

func TestAlertsUseMetricsTheRelayExports(t *testing.T) {
	exported := relayMetrics(t)
	objs, _ := mustRenderChart(t, map[string]any{"prometheusRule": map[string]any{"enabled": true}})
	rule := index(objs)[key("PrometheusRule", releaseNamespace, "push-operator-relay-alerts")]
	if rule == nil {
		t.Fatalf("prometheusRule.enabled renders no PrometheusRule: %v", kinds(objs))
	}
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	var alerts []string
	for _, g := range groups {
		rules, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range rules {
			r := r.(map[string]any)
			alert := fmt.Sprint(r["alert"])
			alerts = append(alerts, alert)
			refs := checkExpr(t, alert, fmt.Sprint(r["expr"]), exported)

			labels, _, _ := unstructured.NestedStringMap(r, "labels")
			annotations, _, _ := unstructured.NestedStringMap(r, "annotations")
			if labels["severity"] == "" || annotations["summary"] == "" || annotations["description"] == "" || r["for"] == nil {
				t.Errorf("%s needs a severity label, summary and description annotations and a for duration", alert)
			}
			// The alert's labels are its grouping labels; templates can use only those.
			for _, m := range templateLabel.FindAllStringSubmatch(annotations["summary"]+annotations["description"], -1) {
				if !slices.Contains(refs.GroupedLabels, m[1]) {
					t.Errorf("%s: annotation uses $labels.%s, which the expression drops (it keeps %v)", alert, m[1], refs.GroupedLabels)
				}
			}
		}
	}
	// The alerts the chart promises (values.yaml, docs/install.md).
	for _, want := range []string{"PushRelayAPNsCertificateExpiring", "PushRelayHighFailureRatio", "PushRelayRemovalSpike", "PushRelayNotReady"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("alert %s is missing; got %v", want, alerts)
		}
	}
	// And every alert is documented.
	doc := readFile(t, filepath.Join(repoRoot, "docs", "install.md"))
	for _, alert := range alerts {
		if !strings.Contains(doc, "`"+alert+"`") {
			t.Errorf("docs/install.md does not document alert %s", alert)
		}
	}
}

var legendLabel = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

// labelValuesQuery is Grafana's label_values(selector, label) variable query.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

func TestDashboardsUseMetricsTheRelayExports(t *testing.T) {
	exported := relayMetrics(t)
	paths, err := filepath.Glob(filepath.Join(chartDir, "dashboards", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no dashboards in charts/push-operator/dashboards (%v)", err)
	}
	for _, path := range paths {
		var dashboard struct {
			Panels     []panel `json:"panels"`
			Templating struct {
				List []struct {
					Name  string `json:"name"`
					Query any    `json:"query"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal([]byte(readFile(t, path)), &dashboard); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		file := filepath.Base(path)
		targets := 0
		for _, p := range flattenPanels(dashboard.Panels) {
			for _, target := range p.Targets {
				targets++
				where := fmt.Sprintf("%s panel %q", file, p.Title)
				refs := checkExpr(t, where, target.Expr, exported)
				for _, m := range legendLabel.FindAllStringSubmatch(target.LegendFormat, -1) {
					if len(refs.GroupedLabels) > 0 && !slices.Contains(refs.GroupedLabels, m[1]) {
						t.Errorf("%s: legend uses {{%s}}, which the expression drops (it keeps %v)", where, m[1], refs.GroupedLabels)
					}
				}
			}
		}
		if targets == 0 {
			t.Errorf("%s has no queries", file)
		}
		for _, v := range dashboard.Templating.List {
			q, ok := v.Query.(map[string]any)
			if !ok {
				continue // a datasource variable
			}
			m := labelValuesQuery.FindStringSubmatch(fmt.Sprint(q["query"]))
			if m == nil {
				t.Errorf("%s variable %s: unexpected query %v", file, v.Name, q["query"])
				continue
			}
			refs := checkExpr(t, file+" variable "+v.Name, m[1], exported)
			exportedLabels := slices.Clone(targetLabels)
			for _, name := range refs.Metrics {
				exportedLabels = append(exportedLabels, exported[name]...)
			}
			if !slices.Contains(exportedLabels, m[2]) {
				t.Errorf("%s variable %s: label %s is not on %v", file, v.Name, m[2], refs.Metrics)
			}
		}
	}
}

type panel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows hold their panels
}

func flattenPanels(panels []panel) []panel {
	var all []panel
	for _, p := range panels {
		all = append(all, p)
		all = append(all, flattenPanels(p.Panels)...)
	}
	return all
}
