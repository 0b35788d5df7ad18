// Package model holds the Go side of the GraphQL types: the dataset types below are written by
// hand (gqlgen binds to them, see gqlgen.yml); models_gen.go is generated.
//
// Every dataset type embeds Access, which names the fields the caller asked for but may not see;
// the graph's field middleware answers those with a FORBIDDEN error at their path.
package model

// Access records, for one object, the fields the policy denied to the caller and the sensitive
// fields it revealed (all others are at most commitments).
type Access struct {
	Denied   map[string]bool
	Revealed map[string]bool
}

// IsDenied reports whether the GraphQL field named field was denied.
func (a *Access) IsDenied(field string) bool { return a != nil && a.Denied[field] }

// IsRevealed reports whether the sensitive field named field may carry its value.
func (a *Access) IsRevealed(field string) bool { return a != nil && a.Revealed[field] }

// Citizen is one citizen's shared data.
type Citizen struct {
	ID              string
	Identity        *Identity
	Marriage        *Marriage
	SocialInsurance *SocialInsurance
	Tax             *Tax
	Property        []Property
	BusinessLicense []BusinessLicense
	Health          *Health
	Access
}

// Identity is the public-security dataset.
type Identity struct {
	Name       *string
	Gender     *string
	HukouCity  *string
	NationalID *SealedString
	BirthDate  *SealedDate
	Address    *SealedString
	Access
}

// Marriage is the civil-affairs dataset.
type Marriage struct {
	MaritalStatus   *string
	SpouseCitizenID *SealedString
	RegisteredOn    *string
	Access
}

// SocialInsurance is the hrss dataset.
type SocialInsurance struct {
	Insured            *bool
	Employer           *string
	ContributionMonths *SealedInt
	MonthlyBase        *SealedInt
	Access
}

// Tax is the tax dataset.
type Tax struct {
	Year         *int
	AnnualIncome *SealedInt
	TaxPaid      *SealedInt
	Access
}

// Property is one item of the natural-resources dataset.
type Property struct {
	CertificateNo *string
	City          *string
	Area          *float64
	Address       *SealedString
	AcquiredOn    *string
	Access
}

// BusinessLicense is one item of the market-regulation dataset.
type BusinessLicense struct {
	Uscc                *string
	CompanyName         *string
	LegalRepresentative *string
	RegisteredCapital   *int64
	Status              *string
	Access
}

// Health is the health dataset.
type Health struct {
	BloodType         *SealedString
	ChronicConditions *SealedString
	Vaccinations      []string
	Access
}

// SealedString is a sensitive text value.
type SealedString struct {
	Value      *string
	Commitment *Commitment
}

// SealedInt is a sensitive integer value.
type SealedInt struct {
	Value      *int64
	Commitment *Commitment
}

// SealedDate is a sensitive date value.
type SealedDate struct {
	Value      *string
	Commitment *Commitment
}

// Commitment is a Pedersen commitment as the schema shows it.
type Commitment struct {
	Scheme  string
	Point   string
	Version int64
}
