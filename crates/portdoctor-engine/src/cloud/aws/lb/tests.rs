//! The load-balancer path from snapshot fixtures written to the AWS API reference's shapes.
