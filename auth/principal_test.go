package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPrincipalValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Principal
		ok   bool
	}{
		{"department", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: "u123"}, true},
		{"department code with digits and dash", Principal{Kind: KindDepartment, Department: "civil-affairs-2", Role: "case-worker", Subject: "li.wei@housing.gov"}, true},
		{"department code of 64", Principal{Kind: KindDepartment, Department: strings.Repeat("a", 64), Role: "clerk", Subject: "u1"}, true},
		{"department code of 65", Principal{Kind: KindDepartment, Department: strings.Repeat("a", 65), Role: "clerk", Subject: "u1"}, false},
		{"department without department", Principal{Kind: KindDepartment, Role: "clerk", Subject: "u1"}, false},
		{"department upper case", Principal{Kind: KindDepartment, Department: "Housing", Role: "clerk", Subject: "u1"}, false},
		{"department with underscore", Principal{Kind: KindDepartment, Department: "civil_affairs", Role: "clerk", Subject: "u1"}, false},
		{"department without role", Principal{Kind: KindDepartment, Department: "housing", Subject: "u1"}, false},
		{"department role with space", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk a", Subject: "u1"}, false},
		{"department without subject", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk"}, false},
		{"department subject of 128", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: strings.Repeat("x", 128)}, true},
		{"department subject of 129", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: strings.Repeat("x", 129)}, false},
		{"department subject with newline", Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: "u1\nforged"}, false},
		{"officer", Principal{Kind: KindOfficer, Department: "privacy-office", Role: RoleOfficer, Subject: "o7"}, true},
		{"officer without role", Principal{Kind: KindOfficer, Department: "privacy-office", Subject: "o7"}, false},
		{"officer with other role", Principal{Kind: KindOfficer, Department: "privacy-office", Role: "clerk", Subject: "o7"}, false},
		{"officer without department", Principal{Kind: KindOfficer, Role: RoleOfficer, Subject: "o7"}, false},
		{"citizen", Principal{Kind: KindCitizen, Subject: "C000001"}, true},
		{"citizen with 12 digits", Principal{Kind: KindCitizen, Subject: "Z123456789012"}, true},
		{"citizen with 5 digits", Principal{Kind: KindCitizen, Subject: "C00001"}, false},
		{"citizen with 13 digits", Principal{Kind: KindCitizen, Subject: "C1234567890123"}, false},
		{"citizen lower-case letter", Principal{Kind: KindCitizen, Subject: "c000001"}, false},
		{"citizen with letter inside", Principal{Kind: KindCitizen, Subject: "C00000A"}, false},
		{"citizen with department", Principal{Kind: KindCitizen, Department: "housing", Subject: "C000001"}, false},
		{"citizen with role", Principal{Kind: KindCitizen, Role: "clerk", Subject: "C000001"}, false},
		{"auditor", Principal{Kind: KindAuditor, Subject: "audit-1"}, true},
		{"auditor with department", Principal{Kind: KindAuditor, Department: "tax", Subject: "audit-1"}, false},
		{"auditor without subject", Principal{Kind: KindAuditor}, false},
		{"operator", Principal{Kind: KindOperator, Subject: "ops-1"}, true},
		{"operator with role", Principal{Kind: KindOperator, Role: "admin", Subject: "ops-1"}, false},
		{"operator without subject", Principal{Kind: KindOperator}, false},
		{"unknown kind", Principal{Kind: "admin", Subject: "root"}, false},
		{"empty", Principal{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.ok {
				if err != nil {
					t.Errorf("%+v.Validate() = %v, want nil", tt.p, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPrincipal) {
				t.Errorf("%+v.Validate() = %v, want %v", tt.p, err, ErrInvalidPrincipal)
			}
			for _, v := range []string{tt.p.Department, tt.p.Role, tt.p.Subject} {
				if len(v) > 3 && err != nil && strings.Contains(err.Error(), v) {
					t.Errorf("%+v.Validate() = %q, which echoes the value %q", tt.p, err, v)
				}
			}
		})
	}
}

func TestContext(t *testing.T) {
	ctx := t.Context()
	if p, ok := FromContext(ctx); ok {
		t.Errorf("FromContext(empty) = %+v, true, want false", p)
	}
	want := Principal{Kind: KindCitizen, Subject: "C000001", TokenID: "j"}
	got, ok := FromContext(NewContext(ctx, want))
	if !ok || got != want {
		t.Errorf("FromContext(NewContext(ctx, %+v)) = %+v, %v, want %+v, true", want, got, ok, want)
	}
}
