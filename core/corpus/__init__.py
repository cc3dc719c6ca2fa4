"""The corpus map: load a corpus, embed it, cluster it, project it, select from it.

EQUAL's stages A-B without the bandit: ``load`` (files, folders, zips, with a LoadReport),
``builtin`` (the demo corpus), ``encoders`` and ``embed`` (cached embeddings), ``cluster``
(faiss k-means, keywords), ``project`` (UMAP), ``mapping`` (the cached CorpusMap) and
``selection`` (plotly selections mapped to document ids). Nothing here imports ``core.equal``.
"""
