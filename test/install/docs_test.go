package install

import (
	"path/filepath"
	"regexp"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// The Argo CD and Flux examples in docs/install.md pass values to the chart; they must
// stay values the chart accepts (values.schema.json) and renders.
func TestInstallDocExamplesUseValidChartValues(t *testing.T) {
	doc := readFile(t, filepath.Join(repoRoot, "docs", "install.md"))
	examples := 0
	for _, block := range yamlBlock.FindAllStringSubmatch(doc, -1) {
		for _, obj := range decodeObjects(t, []byte(block[1])) {
			var values map[string]any
			switch obj.GetKind() {
			case "Application":
				values, _, _ = unstructured.NestedMap(obj.Object, "spec", "source", "helm", "valuesObject")
			case "HelmRelease":
				values, _, _ = unstructured.NestedMap(obj.Object, "spec", "values")
			default:
				continue
			}
			if values == nil {
				continue
			}
			examples++
			if _, _, err := renderChart(t, values); err != nil {
				t.Errorf("docs/install.md: the %s %s passes values the chart rejects: %v", obj.GetKind(), obj.GetName(), err)
			}
		}
	}
	if examples < 2 {
		t.Errorf("found %d Argo CD/Flux examples with chart values in docs/install.md, want 2", examples)
	}
}
