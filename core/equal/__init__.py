"""EQUAL: corpus map (embed, cluster, project) and the bandit extraction loop."""
