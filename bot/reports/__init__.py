"""Reports and anonymous tips: submission, receipt codes, passphrases, look-up."""
