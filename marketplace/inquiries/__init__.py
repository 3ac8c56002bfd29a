"""First contact: enterprise inquiries on achievements, university offers on demands, the inbox."""
