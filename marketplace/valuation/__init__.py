"""技术定价 guidance (comparable registered contracts) and 知识产权价值评估 worksheets."""
