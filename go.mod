module promo

go 1.26
