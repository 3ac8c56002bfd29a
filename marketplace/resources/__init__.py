"""Resource databases: experts (科技人才库) and shared large instruments (大型科学仪器共享)."""
