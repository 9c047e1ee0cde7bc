pub mod blobs; pub mod config; pub mod domain; pub mod db;
