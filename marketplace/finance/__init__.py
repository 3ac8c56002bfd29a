"""科技金融: financial institutions' products, enterprises' applications, investors, roadshows."""
