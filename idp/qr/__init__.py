"""QR scan login: the codes, who may approve them, the app API and the login page's QR tab."""
