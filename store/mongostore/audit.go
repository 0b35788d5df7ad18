package mongostore

import "context"

// CountRecords returns the number of stored records as the database estimates it from its
// collection statistics, without reading the records: for showing progress, not for checking.
func (s *Store) CountRecords(ctx context.Context) (uint64, error) {
	n, err := s.records.EstimatedDocumentCount(ctx)
	if err != nil {
		return 0, mapErr(err)
	}
	return uint64(max(n, 0)), nil
}
