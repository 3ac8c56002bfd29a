"""挂牌交易 (listings for sale with a disclosure period) and 竞价拍卖 (English auctions)."""
