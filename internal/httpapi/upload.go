package httpapi

import (
	"io"
	"mime"
	"net/http"
	"strings"

	"promo/internal/promo"
)

// csvBody returns the CSV of an import: the "file" part of a multipart
// upload, as the reference's importCSV takes it, or a text/csv body.
func csvBody(r *http.Request) (io.ReadCloser, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct != "" && err != nil {
		return nil, promo.Errorf(promo.EUnsupportedMedia, "Content-Type %q cannot be read", ct)
	}
	switch {
	case mt == "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, promo.Errorf(promo.EInvalidPayload, "multipart body: %v", err)
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil, promo.Errorf(promo.EInvalidPayload, "the upload has no part named file")
			} else if err != nil {
				return nil, decodeError(err, 0)
			}
			if p.FormName() == "file" {
				return p, nil
			}
			p.Close()
		}
	case ct == "" || mt == "text/csv" || mt == "text/plain" || strings.HasSuffix(mt, "/octet-stream"):
		return r.Body, nil
	}
	return nil, promo.Errorf(promo.EUnsupportedMedia, "send the CSV as multipart/form-data with a part named file, or as text/csv, not %s", mt)
}

// writeListMore writes a list envelope with has_more, as the customers list
// has it.
func writeListMore(w http.ResponseWriter, dataRef string, items any, total int64, more bool) {
	writeJSON(w, http.StatusOK, listMoreBody{listBody: listBody{dataRef: dataRef, items: items, total: total}, more: more})
}

type listMoreBody struct {
	listBody
	more bool
}

func (l listMoreBody) MarshalJSON() ([]byte, error) {
	b, err := l.listBody.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-1]
	if l.more {
		return append(b, `,"has_more":true}`...), nil
	}
	return append(b, `,"has_more":false}`...), nil
}
