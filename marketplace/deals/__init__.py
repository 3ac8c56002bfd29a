"""The broker deal room: deals (撮合项目) and their timeline, technology contracts (技术合同) with
registration (认定登记), payments, invoices and PDF documents."""
