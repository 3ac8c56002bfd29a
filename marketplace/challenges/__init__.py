"""揭榜挂帅: challenges with bounties, applications (揭榜), reviewers' scores and public results."""
