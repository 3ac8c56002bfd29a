"""成果评价: evaluation requests, expert panels, scoring against a documented model, report PDFs."""
