package install

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// promqlRefs is what a PromQL expression refers to: the metrics it selects, the label
// names it matches on ({...}) and the labels it groups or joins by (by/without/on/...).
type promqlRefs struct {
	Metrics       []string
	MatchedLabels []string
	GroupedLabels []string
}

// Words that are not metric names even when not followed by "(".
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true, "start": true, "end": true,
	// Aggregation operators can take their grouping clause before the parentheses.
	"sum": true, "min": true, "max": true, "avg": true, "count": true, "group": true,
	"stddev": true, "stdvar": true, "topk": true, "bottomk": true, "quantile": true,
	"count_values": true, "limitk": true, "limit_ratio": true,
}

// Clauses followed by a parenthesised list of label names.
var promqlLabelClauses = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// parsePromQL finds what expr refers to. It is a lexer, not a parser: enough to tell metric
// names from functions, keywords, label names, strings, durations and Grafana variables,
// which is all the checks on our alerts and dashboards need.
func parsePromQL(expr string) (promqlRefs, error) {
	var refs promqlRefs
	rs := []rune(expr)
	i := 0
	next := func() rune { // the next non-space rune after i
		for j := i; j < len(rs); j++ {
			if !unicode.IsSpace(rs[j]) {
				return rs[j]
			}
		}
		return 0
	}
	for i < len(rs) {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '#': // comment
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case r == '"' || r == '\'' || r == '`':
			end, err := skipString(rs, i)
			if err != nil {
				return refs, err
			}
			i = end
		case r == '[': // range or subquery duration
			end := indexFrom(rs, i, ']')
			if end < 0 {
				return refs, fmt.Errorf("unclosed [ in %q", expr)
			}
			i = end + 1
		case r == '{':
			names, end, err := matcherLabels(rs, i)
			if err != nil {
				return refs, err
			}
			refs.MatchedLabels = append(refs.MatchedLabels, names...)
			i = end
		case r == '$': // Grafana variable
			i++
			for i < len(rs) && isIdentRune(rs[i]) {
				i++
			}
		case unicode.IsDigit(r) || r == '.':
			for i < len(rs) && (isIdentRune(rs[i]) || rs[i] == '.') {
				i++
			}
		case isIdentStart(r):
			start := i
			for i < len(rs) && isIdentRune(rs[i]) {
				i++
			}
			word := string(rs[start:i])
			switch {
			case promqlLabelClauses[word]:
				if next() != '(' {
					continue // group_left without a label list
				}
				for i < len(rs) && rs[i] != '(' {
					i++
				}
				end := indexFrom(rs, i, ')')
				if end < 0 {
					return refs, fmt.Errorf("unclosed %s ( in %q", word, expr)
				}
				for _, l := range strings.Split(string(rs[i+1:end]), ",") {
					if l = strings.TrimSpace(l); l != "" {
						refs.GroupedLabels = append(refs.GroupedLabels, l)
					}
				}
				i = end + 1
			case promqlKeywords[strings.ToLower(word)], next() == '(':
				// an operator, keyword or function call
			default:
				refs.Metrics = append(refs.Metrics, word)
			}
		default:
			i++ // operators and parentheses
		}
	}
	return refs, nil
}

// matcherLabels reads a {...} label matcher list starting at rs[start] == '{'.
func matcherLabels(rs []rune, start int) (names []string, end int, err error) {
	i := start + 1
	for i < len(rs) {
		switch r := rs[i]; {
		case r == '}':
			return names, i + 1, nil
		case r == '"' || r == '\'' || r == '`':
			if i, err = skipString(rs, i); err != nil {
				return nil, 0, err
			}
		case isIdentStart(r):
			s := i
			for i < len(rs) && isIdentRune(rs[i]) {
				i++
			}
			names = append(names, string(rs[s:i]))
		default:
			i++
		}
	}
	return nil, 0, fmt.Errorf("unclosed { in %q", string(rs))
}

func skipString(rs []rune, start int) (int, error) {
	quote := rs[start]
	for i := start + 1; i < len(rs); i++ {
		if rs[i] == '\\' && quote != '`' {
			i++
			continue
		}
		if rs[i] == quote {
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("unclosed string in %q", string(rs))
}

func indexFrom(rs []rune, from int, r rune) int {
	if j := slices.Index(rs[from:], r); j >= 0 {
		return from + j
	}
	return -1
}

func isIdentStart(r rune) bool { return r == '_' || r == ':' || unicode.IsLetter(r) }
func isIdentRune(r rune) bool  { return isIdentStart(r) || unicode.IsDigit(r) }

func TestParsePromQL(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want promqlRefs
	}{
		{
			expr: `sum by (namespace, job, platform) (rate(service_failure_total{type="message"}[10m])) / sum by (namespace, job, platform) (rate(service_notifications_total[10m])) > 0.05`,
			want: promqlRefs{
				Metrics:       []string{"service_failure_total", "service_notifications_total"},
				MatchedLabels: []string{"type"},
				GroupedLabels: []string{"namespace", "job", "platform", "namespace", "job", "platform"},
			},
		},
		{
			expr: `(min by (platform) (relay_credential_expiry_timestamp_seconds{namespace=~"$namespace", job=~"a}b"}) - time()) / 86400 < 1e-9`,
			want: promqlRefs{
				Metrics:       []string{"relay_credential_expiry_timestamp_seconds"},
				MatchedLabels: []string{"namespace", "job"},
				GroupedLabels: []string{"platform"},
			},
		},
		{
			expr: `histogram_quantile(0.95, sum by (le) (rate(service_request_duration_seconds_bucket[$__rate_interval]))) and on (pod) group_left up offset 5m`,
			want: promqlRefs{
				Metrics:       []string{"service_request_duration_seconds_bucket", "up"},
				GroupedLabels: []string{"le", "pod"},
			},
		},
		{
			expr: "topk(10, sum without (instance) (go_goroutines)) # a comment naming not_a_metric",
			want: promqlRefs{Metrics: []string{"go_goroutines"}, GroupedLabels: []string{"instance"}},
		},
	} {
		got, err := parsePromQL(tc.expr)
		if err != nil {
			t.Errorf("parsePromQL(%q): %v", tc.expr, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("parsePromQL(%q)\n got %+v\nwant %+v", tc.expr, got, tc.want)
		}
	}
	for _, bad := range []string{`rate(x[5m)`, `x{a="b"`, `x{a="b}`} {
		if _, err := parsePromQL(bad); err == nil {
			t.Errorf("parsePromQL(%q) accepted a broken expression", bad)
		}
	}
}
