package hub

// Department names a department in the citizen's view of their log.
type Department struct {
	Code, NameZh, NameEn string
}

// departments are the departments the demo policy and the catalog's dataset owners name, with
// the citizen themselves (actor citizen/citizen). Written by hand: a department unknown here is
// shown under its code.
var departments = map[string]Department{
	"citizen":           {"citizen", "本人", "Yourself"},
	"public-security":   {"public-security", "公安局", "Public Security Bureau"},
	"civil-affairs":     {"civil-affairs", "民政局", "Civil Affairs Bureau"},
	"hrss":              {"hrss", "人力资源和社会保障局", "Human Resources and Social Security Bureau"},
	"tax":               {"tax", "税务局", "Tax Bureau"},
	"natural-resources": {"natural-resources", "自然资源局", "Natural Resources Bureau"},
	"market-regulation": {"market-regulation", "市场监督管理局", "Market Regulation Administration"},
	"health":            {"health", "卫生健康委员会", "Health Commission"},
	"housing":           {"housing", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau"},
	"privacy-office":    {"privacy-office", "个人信息保护办公室", "Privacy Office"},
}

// DepartmentOf returns the names of the department with code; an unknown code is its own name.
func DepartmentOf(code string) Department {
	if d, ok := departments[code]; ok {
		return d
	}
	return Department{Code: code, NameZh: code, NameEn: code}
}
