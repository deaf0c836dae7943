package access

import "github.com/corsia-cce/corsia/backend"

// DecideHide rules on an oscuramento (HideDocument) of a document of the
// resident described by t. It is Decide, with one exception: the medical
// director, who answers for the facility's records and to whom a resident
// addresses the request, may hide documents of any resident of her facility
// she sees — not only of residents on her own wards (she usually has none).
// Break-the-glass never grants it.
func DecideHide(a *backend.Actor, t Target) Decision {
	d := Decide(a, HideDocument, t)
	if d.Visible && !d.Allowed && d.BreakGlass == "" && a.Has(backend.RoleDirector) && Can(a, HideDocument) {
		d.Allowed = true
	}
	return d
}
